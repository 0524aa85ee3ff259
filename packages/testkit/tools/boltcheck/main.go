// SPDX-License-Identifier: Apache-2.0
// boltcheck: an independent check of the bbolt files stella writes, built against Debian's Go bbolt
// (golang-github-coreos-bbolt-dev, GOPATH mode, no module downloads). It opens the file read-only,
// runs bbolt's consistency check, then walks every bucket and prints the same canonical dump as
// packages/export/src/bolt/dump.ts; it also re-finds every key through Get/Bucket (exercising branch
// search) and checks strict key order, which Debian's bbolt 1.3.6 Check does not. Exit 1 on any error.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"
)

func pathText(path [][]byte) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = hex.EncodeToString(p)
	}
	return "/" + strings.Join(parts, "/")
}

func walk(out *bufio.Writer, b *bolt.Bucket, path [][]byte) error {
	var previous []byte
	return b.ForEach(func(k, v []byte) error {
		if previous != nil && bytes.Compare(previous, k) >= 0 {
			return fmt.Errorf("%s: key %x not after %x", pathText(path), k, previous)
		}
		previous = append([]byte(nil), k...)
		if v == nil {
			child := b.Bucket(k)
			if child == nil {
				return fmt.Errorf("%s: bucket %x not found by Bucket()", pathText(path), k)
			}
			childPath := append(append([][]byte(nil), path...), append([]byte(nil), k...))
			fmt.Fprintf(out, "bucket %s\n", pathText(childPath))
			return walk(out, child, childPath)
		}
		if got := b.Get(k); !bytes.Equal(got, v) {
			return fmt.Errorf("%s: Get(%x) differs from the cursor's value", pathText(path), k)
		}
		sum := sha256.Sum256(v)
		fmt.Fprintf(out, "value %s %x %x\n", pathText(path), k, sum)
		return nil
	})
}

func run(file string) error {
	db, err := bolt.Open(file, 0o400, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	return db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		var previous []byte
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if previous != nil && bytes.Compare(previous, name) >= 0 {
				return fmt.Errorf("root: bucket %x not after %x", name, previous)
			}
			previous = append([]byte(nil), name...)
			if b == nil || tx.Bucket(name) == nil {
				return fmt.Errorf("root: key %x is not a bucket", name)
			}
			path := [][]byte{append([]byte(nil), name...)}
			fmt.Fprintf(out, "bucket %s\n", pathText(path))
			return walk(out, b, path)
		})
	})
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: boltcheck <file.db>")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "boltcheck:", err)
		os.Exit(1)
	}
}
