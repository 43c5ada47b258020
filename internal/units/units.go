// Package units formats sizes for people: the CLI's tables and the
// printer columns of Backup objects show the same "1.5 MiB".
package units

import "fmt"

// Bytes formats n with binary prefixes: "512 B", "1.5 MiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
