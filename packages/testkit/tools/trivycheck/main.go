// SPDX-License-Identifier: Apache-2.0
// trivycheck: an independent check of the trivy.db files stella exports, built against Debian's Go bbolt
// (golang-github-coreos-bbolt-dev, GOPATH mode, no module downloads) and Go's encoding/json. Trivy itself
// cannot run here, so this program reads the file the way Trivy does: Go structs that mirror trivy-db's
// Advisory, Vulnerability, CVSS and DataSource (written for this project from reading trivy-db's types),
// decoded strictly (unknown or wrongly-cased fields, wrong types, non-RFC 3339 dates all fail), and the
// bucket walks of Trivy's library and OS detectors.
//
//	trivycheck check <trivy.db>                        structure and every value; prints counts
//	trivycheck lookup <trivy.db> <ecosystem> <package> every "<ecosystem>::*" bucket, like Trivy's library detector
//	trivycheck os <trivy.db> <bucket> <package>        one exact OS bucket, like Trivy's OS detectors
//
// check exits 1 and prints one problem per line on stderr; lookup and os print a JSON array on stdout.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// DataSource mirrors trivy-db's DataSource: the value in the data-source bucket for one advisory bucket.
type DataSource struct {
	ID     string `json:",omitempty"`
	Name   string `json:",omitempty"`
	URL    string `json:",omitempty"`
	BaseID string `json:",omitempty"`
}

// Advisory mirrors the DB form of trivy-db's Advisory, where Status is stored as its integer index.
type Advisory struct {
	VulnerabilityID    string      `json:",omitempty"`
	VendorIDs          []string    `json:",omitempty"`
	OSes               []string    `json:",omitempty"`
	Arches             []string    `json:",omitempty"`
	Severity           int         `json:",omitempty"`
	FixedVersion       string      `json:",omitempty"`
	AffectedVersion    string      `json:",omitempty"`
	VulnerableVersions []string    `json:",omitempty"`
	PatchedVersions    []string    `json:",omitempty"`
	UnaffectedVersions []string    `json:",omitempty"`
	DataSource         *DataSource `json:",omitempty"`
	Custom             any         `json:",omitempty"`
	Status             int         `json:",omitempty"`
}

// CVSS mirrors trivy-db's per-source CVSS vectors and scores.
type CVSS struct {
	V2Vector  string  `json:",omitempty"`
	V3Vector  string  `json:",omitempty"`
	V40Vector string  `json:",omitempty"`
	V2Score   float64 `json:",omitempty"`
	V3Score   float64 `json:",omitempty"`
	V40Score  float64 `json:",omitempty"`
}

// Vulnerability mirrors trivy-db's Vulnerability, the value in the vulnerability bucket.
type Vulnerability struct {
	Title            string          `json:",omitempty"`
	Description      string          `json:",omitempty"`
	Severity         string          `json:",omitempty"`
	CweIDs           []string        `json:",omitempty"`
	VendorSeverity   map[string]int  `json:",omitempty"`
	CVSS             map[string]CVSS `json:",omitempty"`
	References       []string        `json:",omitempty"`
	PublishedDate    *time.Time      `json:",omitempty"`
	LastModifiedDate *time.Time      `json:",omitempty"`
	Custom           any             `json:",omitempty"`
}

const (
	vulnerabilityBucket = "vulnerability"
	dataSourceBucket    = "data-source"
	maxSeverity         = 4 // CRITICAL; trivy-db's Severity.String() indexes a 5-name table
	maxStatus           = 7 // end_of_life
)

var ecosystems = []string{"npm", "pip", "rubygems", "cargo", "composer", "maven", "go", "nuget", "conan",
	"erlang", "pub", "swift", "cocoapods", "julia", "bitnami", "k8s"}

// decodeStrict decodes one JSON value into out: unknown fields, wrong types, bad dates and trailing
// data are errors, and so are keys that match a Go field only case-insensitively (Go would accept them).
func decodeStrict(data []byte, out any) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("value is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return exactNames(data, reflect.TypeOf(out).Elem(), "")
}

// exactNames walks raw JSON alongside type t and reports the first object key whose spelling differs
// from the struct field name it was matched to.
func exactNames(data []byte, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
			return nil // null; type errors were reported by the decoder
		}
		for key, raw := range fields {
			field, ok := t.FieldByName(key)
			if !ok {
				return fmt.Errorf("field %q%s is not spelled as trivy-db spells it", key, at)
			}
			if err := exactNames(raw, field.Type, " in "+key+at); err != nil {
				return err
			}
		}
	case reflect.Map:
		var entries map[string]json.RawMessage
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil
		}
		for key, raw := range entries {
			if err := exactNames(raw, t.Elem(), fmt.Sprintf(" in %q%s", key, at)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkAdvisory(a *Advisory, key []byte) error {
	if a.Severity < 0 || a.Severity > maxSeverity {
		return fmt.Errorf("Severity %d is outside 0..%d", a.Severity, maxSeverity)
	}
	if a.Status < 0 || a.Status > maxStatus {
		return fmt.Errorf("Status %d is outside 0..%d", a.Status, maxStatus)
	}
	if a.VulnerabilityID != "" && a.VulnerabilityID != string(key) {
		return fmt.Errorf("VulnerabilityID %q differs from its key", a.VulnerabilityID)
	}
	return nil
}

func checkVulnerability(v *Vulnerability) error {
	for source, severity := range v.VendorSeverity {
		if severity < 0 || severity > maxSeverity {
			return fmt.Errorf("VendorSeverity[%q] = %d is outside 0..%d", source, severity, maxSeverity)
		}
	}
	return nil
}

func decodeDataSource(data []byte) (*DataSource, error) {
	var ds DataSource
	if err := decodeStrict(data, &ds); err != nil {
		return nil, err
	}
	if ds.ID == "" || ds.Name == "" {
		return nil, fmt.Errorf("ID and Name must not be empty")
	}
	return &ds, nil
}

func decodeVulnerability(data []byte) (*Vulnerability, error) {
	var v Vulnerability
	if err := decodeStrict(data, &v); err != nil {
		return nil, err
	}
	if err := checkVulnerability(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

func decodeAdvisory(data []byte, key []byte) (*Advisory, error) {
	var a Advisory
	if err := decodeStrict(data, &a); err != nil {
		return nil, err
	}
	if err := checkAdvisory(&a, key); err != nil {
		return nil, err
	}
	return &a, nil
}

// bucketNameProblem says what is wrong with the name of a top-level advisory bucket, or "".
func bucketNameProblem(name string) string {
	if !utf8.ValidString(name) || strings.TrimSpace(name) != name || name == "" {
		return "is not a trimmed UTF-8 name"
	}
	if eco, source, ok := strings.Cut(name, "::"); ok {
		for _, known := range ecosystems {
			if eco == known {
				if source == "" || strings.TrimSpace(source) != source {
					return "has no data source name after '::'"
				}
				return ""
			}
		}
		return fmt.Sprintf("has ecosystem %q, which is not one of Trivy's", eco)
	}
	if strings.Contains(name, ":") {
		return "is neither '<ecosystem>::<source>' nor an OS bucket"
	}
	for _, known := range ecosystems {
		if name == known {
			return "is an ecosystem without '::<source>'"
		}
	}
	return ""
}

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "check":
		err = runCheck(os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "lookup":
		err = runLookup(os.Args[2], os.Args[3], os.Args[4], true)
	case len(os.Args) == 5 && os.Args[1] == "os":
		err = runLookup(os.Args[2], os.Args[3], os.Args[4], false)
	default:
		fmt.Fprintln(os.Stderr, "usage: trivycheck check <trivy.db> | lookup <trivy.db> <ecosystem> <package> | os <trivy.db> <bucket> <package>")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trivycheck:", err)
		os.Exit(1)
	}
}

func openDB(path string) (*bolt.DB, error) {
	return bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
}

func writeJSON(value any) error {
	out, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", out)
	return err
}

// sortedKeys returns the keys of a string set in byte order.
func sortedKeys(set map[string][]string) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
