// SPDX-License-Identifier: Apache-2.0
// trivycheck check: the whole-file check. It runs bbolt's consistency check, then requires the
// vulnerability and data-source buckets Trivy reads, decodes every value strictly into the trivy-db
// mirror types, checks bucket names and shapes, and joins advisories to data-source and vulnerability.
package main

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// counts is what check prints on success.
type counts struct {
	Buckets         int `json:"buckets"`         // advisory buckets (top level, not vulnerability/data-source)
	Packages        int `json:"packages"`        // package buckets inside them
	Advisories      int `json:"advisories"`      // non-empty advisory values
	Vulnerabilities int `json:"vulnerabilities"` // entries in vulnerability
	DataSources     int `json:"dataSources"`     // entries in data-source
}

type checker struct {
	problems []string
	counts   counts
	used     map[string][]string // vulnerability id -> "bucket / package" where an advisory names it
}

// redHatCPE is trivy-db's Red Hat repository/NVR-to-CPE index, a top-level bucket that holds no advisories.
const redHatCPE = "Red Hat CPE"

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func runCheck(path string) error {
	db, err := openDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	c := &checker{used: map[string][]string{}}
	if err := db.View(func(tx *bolt.Tx) error { c.checkTx(tx); return nil }); err != nil {
		return err
	}
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Fprintln(os.Stderr, p)
		}
		return fmt.Errorf("%d problem(s) in %s", len(c.problems), path)
	}
	return writeJSON(c.counts)
}

func (c *checker) checkTx(tx *bolt.Tx) {
	for err := range tx.Check() {
		c.add("bbolt check: %v", err)
	}
	if len(c.problems) > 0 {
		return // walking a damaged file can fault; bbolt's findings are enough
	}
	sources := c.checkDataSources(tx)
	vulns := tx.Bucket([]byte(vulnerabilityBucket))
	if vulns == nil {
		c.add("missing %q bucket (Trivy calls Get on it without a nil check)", vulnerabilityBucket)
	} else {
		c.checkVulnerabilities(vulns)
	}
	_ = tx.ForEach(func(key []byte, b *bolt.Bucket) error {
		name := string(key)
		if name == vulnerabilityBucket || name == dataSourceBucket || name == redHatCPE {
			return nil
		}
		if b == nil {
			c.add("root: key %q is not a bucket", name)
			return nil
		}
		c.counts.Buckets++
		if problem := bucketNameProblem(name); problem != "" {
			c.add("bucket %q: the name %s", name, problem)
		}
		if sources != nil && !sources[name] {
			c.add("bucket %q: no entry in %q", name, dataSourceBucket)
		}
		c.checkAdvisoryBucket(name, b)
		return nil
	})
	if vulns == nil {
		return
	}
	for _, id := range sortedKeys(c.used) {
		if vulns.Get([]byte(id)) == nil {
			where := c.used[id]
			c.add("vulnerability %q (advisory in %s, %d use(s)) has no entry in %q", id, where[0], len(where), vulnerabilityBucket)
		}
	}
}

// checkDataSources decodes every data-source value; it returns the bucket names listed, nil when absent.
func (c *checker) checkDataSources(tx *bolt.Tx) map[string]bool {
	b := tx.Bucket([]byte(dataSourceBucket))
	if b == nil {
		c.add("missing %q bucket", dataSourceBucket)
		return nil
	}
	listed := map[string]bool{}
	_ = b.ForEach(func(k, v []byte) error {
		listed[string(k)] = true
		if v == nil {
			c.add("bucket %q: key %q is a bucket, not a DataSource value", dataSourceBucket, k)
			return nil
		}
		c.counts.DataSources++
		if _, err := decodeDataSource(v); err != nil {
			c.add("bucket %q key %q: DataSource: %v", dataSourceBucket, k, err)
		}
		return nil
	})
	return listed
}

func (c *checker) checkVulnerabilities(b *bolt.Bucket) {
	_ = b.ForEach(func(k, v []byte) error {
		if v == nil {
			c.add("bucket %q: key %q is a bucket, not a Vulnerability value", vulnerabilityBucket, k)
			return nil
		}
		c.counts.Vulnerabilities++
		if _, err := decodeVulnerability(v); err != nil {
			c.add("bucket %q key %q: Vulnerability: %v", vulnerabilityBucket, k, err)
		}
		return nil
	})
}

// checkAdvisoryBucket: only package buckets inside, and in those only Advisory values keyed by vulnerability id.
func (c *checker) checkAdvisoryBucket(name string, b *bolt.Bucket) {
	_ = b.ForEach(func(pkg, v []byte) error {
		if v != nil {
			c.add("bucket %q: key %q is a plain value, not a package bucket", name, pkg)
			return nil
		}
		c.counts.Packages++
		return b.Bucket(pkg).ForEach(func(id, v []byte) error {
			if v == nil {
				c.add("bucket %q package %q: key %q is a bucket, not an Advisory value", name, pkg, id)
				return nil
			}
			if len(v) == 0 {
				return nil // Trivy skips empty values
			}
			c.counts.Advisories++
			if _, err := decodeAdvisory(v, id); err != nil {
				c.add("bucket %q package %q key %q: Advisory: %v", name, pkg, id, err)
			}
			c.used[string(id)] = append(c.used[string(id)], fmt.Sprintf("%q / %q", name, pkg))
			return nil
		})
	})
}
