package store

import (
	"fmt"
	"path/filepath"
	"strings"
)

// URL is the store a binary uses: --store, or the SQLite file gosling.db
// in --data-dir.
func URL(store, dataDir string) string {
	if store != "" {
		return store
	}
	return "sqlite://" + filepath.Join(dataDir, "gosling.db")
}

// Problems returns what is wrong with --store and --data-dir before
// anything is opened: a store that is neither given nor derivable, or a
// scheme no adapter serves (a plain path is a SQLite file; the adapters
// check the rest).
func Problems(store, dataDir string) []string {
	switch {
	case store == "" && dataDir == "":
		return []string{"--data-dir is empty and --store is not given"}
	case strings.Contains(store, "://") && !strings.HasPrefix(store, "sqlite://") && !strings.HasPrefix(store, "dynamodb://"):
		return []string{fmt.Sprintf("--store %q: want sqlite://PATH, a file path, or dynamodb://PREFIX?region=R", store)}
	}
	return nil
}
