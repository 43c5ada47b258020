package storage_test

import "github.com/coffer-dev/coffer/internal/storage"

var storageOpen = storage.Open
