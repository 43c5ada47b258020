package kubernetes

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// IndexFormatVersion is the version of the index's layout.
const IndexFormatVersion = 1

// IndexName is the index's entry in the tar, after every object.
const IndexName = "index.json"

// Index says what a backup holds and what it left out, and why. It is the
// tar's last entry: it is only complete once every object is written.
type Index struct {
	FormatVersion int `json:"formatVersion"`
	// Server is the API server's URL, or "in-cluster".
	Server        string `json:"server"`
	ServerVersion string `json:"serverVersion"`
	// Resources are those backed up, in backup order, with their object
	// counts (a resource may be included and hold none).
	Resources []IndexResource `json:"resources"`
	// Skipped are resources, API groups and single objects left out.
	Skipped []Skipped `json:"skipped"`
}

// IndexResource is one backed-up resource.
type IndexResource struct {
	Resource   string `json:"resource"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
	Objects    int    `json:"objects"`
}

// Skipped is one thing left out: a resource (Namespace and Name empty),
// an API group (Resource "group:<group/version>"), or an object.
type Skipped struct {
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Reason    string `json:"reason"`
}

// Entry paths: resources/<resource>/namespaces/<ns>/<name>.json and
// resources/<resource>/cluster/<name>.json.
const (
	resourcesDir = "resources/"
	nsDir        = "namespaces"
	clusterDir   = "cluster"
	objectExt    = ".json"
)

// entryPath is where an object goes in the tar.
func entryPath(r Resource, ns, name string) string {
	if r.Namespaced {
		return resourcesDir + r.String() + "/" + nsDir + "/" + ns + "/" + name + objectExt
	}
	return resourcesDir + r.String() + "/" + clusterDir + "/" + name + objectExt
}

// entry is a parsed object path.
type entry struct {
	resource   string // "deployments.apps"
	namespaced bool
	namespace  string
	name       string
}

// group and bare name of the resource.
func (e entry) split() (name, group string) {
	name, group, _ = strings.Cut(e.resource, ".")
	return name, group
}

// parseEntryPath reads an object's path; ok is false for other entries
// (the index).
func parseEntryPath(p string) (entry, bool, error) {
	rest, ok := strings.CutPrefix(p, resourcesDir)
	if !ok {
		return entry{}, false, nil
	}
	parts := strings.Split(rest, "/")
	bad := fmt.Errorf("tar entry %q is not resources/<resource>/namespaces/<ns>/<name>.json or resources/<resource>/cluster/<name>.json", p)
	var e entry
	switch {
	case len(parts) == 4 && parts[1] == nsDir:
		e = entry{resource: parts[0], namespaced: true, namespace: parts[2], name: parts[3]}
	case len(parts) == 3 && parts[1] == clusterDir:
		e = entry{resource: parts[0], name: parts[2]}
	default:
		return entry{}, false, bad
	}
	name, ok := strings.CutSuffix(e.name, objectExt)
	if !ok || name == "" || e.resource == "" || (e.namespaced && e.namespace == "") {
		return entry{}, false, bad
	}
	for _, s := range []string{e.resource, e.namespace, name} {
		if s == "." || s == ".." {
			return entry{}, false, bad
		}
	}
	e.name = name
	return e, true, nil
}

// writeJSON writes one tar entry holding v as indented JSON.
func writeJSON(tw *tar.Writer, name string, mtime time.Time, v any) (int64, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("encoding %s: %w", name, err)
	}
	data = append(data, '\n')
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	n, err := tw.Write(data)
	return int64(n), err
}
