// SPDX-License-Identifier: Apache-2.0
// trivycheck lookup / os: the reads Trivy's detectors make. The library detector seeks a root cursor to
// "<ecosystem>::" and reads the package's nested bucket in every root bucket with that prefix; the OS
// detectors read one exact bucket. Each advisory is joined to its bucket's DataSource and to its
// Vulnerability, as Trivy does, and printed as JSON sorted by (bucket, vulnerabilityId). An entry Trivy
// would never see, because a later bucket holds the same vulnerability id, is marked "shadowedBy".
package main

import (
	"bytes"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

type entry struct {
	Bucket          string         `json:"bucket"`
	VulnerabilityID string         `json:"vulnerabilityId"`
	Advisory        *Advisory      `json:"advisory"`
	DataSource      *DataSource    `json:"dataSource"`
	Vulnerability   *Vulnerability `json:"vulnerability"`
	// ShadowedBy names a later bucket with the same vulnerability id for this package. trivy-db
	// collects the prefix walk into a map keyed by vulnerability id, so Trivy never sees this entry.
	ShadowedBy string `json:"shadowedBy,omitempty"`
}

// rootBuckets: every root bucket named "<target>::…" when byPrefix, else the bucket named target if present.
func rootBuckets(tx *bolt.Tx, target string, byPrefix bool) [][]byte {
	if !byPrefix {
		if tx.Bucket([]byte(target)) == nil {
			return nil
		}
		return [][]byte{[]byte(target)}
	}
	prefix := []byte(target + "::")
	var names [][]byte
	cursor := tx.Cursor()
	for k, _ := cursor.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cursor.Next() {
		names = append(names, append([]byte(nil), k...))
	}
	return names
}

func runLookup(path, target, pkg string, byPrefix bool) error {
	db, err := openDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	entries := []entry{}
	err = db.View(func(tx *bolt.Tx) error {
		vulns := tx.Bucket([]byte(vulnerabilityBucket))
		if vulns == nil {
			return fmt.Errorf("missing %q bucket: Trivy would dereference nil", vulnerabilityBucket)
		}
		sources := tx.Bucket([]byte(dataSourceBucket))
		for _, name := range rootBuckets(tx, target, byPrefix) {
			b := tx.Bucket(name)
			if b == nil {
				continue // a root key that is not a bucket; bbolt does not allow these
			}
			found, err := lookupIn(b.Bucket([]byte(pkg)), string(name), pkg, sources, vulns)
			if err != nil {
				return err
			}
			entries = append(entries, found...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	markShadowed(entries)
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Bucket != entries[j].Bucket {
			return entries[i].Bucket < entries[j].Bucket
		}
		return entries[i].VulnerabilityID < entries[j].VulnerabilityID
	})
	return writeJSON(entries)
}

// markShadowed: entries are in walk order (bucket byte order); the last bucket listing an id wins in Trivy.
func markShadowed(entries []entry) {
	winner := map[string]string{}
	for _, e := range entries {
		winner[e.VulnerabilityID] = e.Bucket
	}
	for i := range entries {
		if last := winner[entries[i].VulnerabilityID]; last != entries[i].Bucket {
			entries[i].ShadowedBy = last
		}
	}
}

// lookupIn reads one package bucket (nil when the package has none in this root bucket).
func lookupIn(pkgBucket *bolt.Bucket, name, pkg string, sources, vulns *bolt.Bucket) ([]entry, error) {
	if pkgBucket == nil {
		return nil, nil
	}
	var source *DataSource
	if sources != nil {
		if raw := sources.Get([]byte(name)); len(raw) > 0 {
			ds, err := decodeDataSource(raw)
			if err != nil {
				return nil, fmt.Errorf("bucket %q key %q: DataSource: %w", dataSourceBucket, name, err)
			}
			source = ds
		}
	}
	var found []entry
	err := pkgBucket.ForEach(func(id, v []byte) error {
		if len(v) == 0 {
			return nil // empty values and nested buckets are skipped
		}
		advisory, err := decodeAdvisory(v, id)
		if err != nil {
			return fmt.Errorf("bucket %q package %q key %q: Advisory: %w", name, pkg, id, err)
		}
		e := entry{Bucket: name, VulnerabilityID: string(id), Advisory: advisory, DataSource: source}
		if raw := vulns.Get(id); raw != nil {
			if e.Vulnerability, err = decodeVulnerability(raw); err != nil {
				return fmt.Errorf("bucket %q key %q: Vulnerability: %w", vulnerabilityBucket, id, err)
			}
		}
		found = append(found, e)
		return nil
	})
	return found, err
}
