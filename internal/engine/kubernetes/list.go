package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
)

// pageSize is how many objects one list request asks for. Objects are
// decoded one at a time as the response arrives, so a page's size bounds
// the request count, not memory.
const pageSize = 500

// metadataOnly asks for the objects' metadata alone (PartialObjectMetadata).
const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

// object is one object as the API server serves it, decoded generically;
// numbers stay json.Number so nothing is rounded.
type object = map[string]any

// lister lists and reads objects with a raw REST client, so a list
// response is streamed: no page, let alone a whole list, is held in memory.
type lister struct {
	rc       rest.Interface
	pageSize int
}

// resourcePath is the URL path of r's objects in ns ("" for every
// namespace, or a cluster-scoped resource), and of one of them when name
// is set.
func resourcePath(r Resource, ns, name string) string {
	p := "/apis/" + r.Group + "/" + r.Version
	if r.Group == "" {
		p = "/api/" + r.Version
	}
	if ns != "" && r.Namespaced {
		p += "/namespaces/" + ns
	}
	p += "/" + r.Name
	if name != "" {
		p += "/" + name
	}
	return p
}

// each calls fn for every object of r in ns, page by page, in the API
// server's order (namespace, then name). metaOnly lists metadata alone.
func (l lister) each(ctx context.Context, r Resource, ns, selector string, metaOnly bool, fn func(object) error) error {
	token := ""
	for {
		req := l.rc.Get().AbsPath(resourcePath(r, ns, "")).Param("limit", strconv.Itoa(l.pageSize))
		if token != "" {
			req = req.Param("continue", token)
		}
		if selector != "" {
			req = req.Param("labelSelector", selector)
		}
		if metaOnly {
			req = req.SetHeader("Accept", metadataOnly)
		}
		next, err := l.page(ctx, req, r, fn)
		var status apierrors.APIStatus
		if apierrors.IsResourceExpired(err) && errors.As(err, &status) && status.Status().Continue != "" {
			// The snapshot the pages came from was compacted away: carry
			// on from the next object in the current state.
			next, err = status.Status().Continue, nil
		}
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

// page streams one list response, returning its continue token.
func (l lister) page(ctx context.Context, req *rest.Request, r Resource, fn func(object) error) (string, error) {
	body, err := req.Stream(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = body.Close() }()
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return "", err
	}
	var meta struct {
		Continue string `json:"continue"`
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("reading the list of %s: %w", r, err)
		}
		switch key {
		case "metadata":
			err = dec.Decode(&meta)
		case "items":
			err = items(dec, r, fn)
		default:
			err = dec.Decode(&json.RawMessage{})
		}
		if err != nil {
			return "", err
		}
	}
	return meta.Continue, nil
}

// items decodes the items array one object at a time.
func items(dec *json.Decoder, r Resource, fn func(object) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reading the list of %s: %w", r, err)
	}
	if tok == nil { // "items": null
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("reading the list of %s: items is not an array", r)
	}
	for dec.More() {
		var obj object
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("reading the list of %s: %w", r, err)
		}
		// Items of a list of built-in objects carry no kind.
		if _, ok := obj["kind"]; !ok {
			obj["apiVersion"], obj["kind"] = r.APIVersion(), r.Kind
		}
		if err := fn(obj); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reading a list: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("reading a list: want %q, got %v", want, tok)
	}
	return nil
}

// get reads one object; a missing one is (nil, nil).
func (l lister) get(ctx context.Context, r Resource, ns, name string) (object, error) {
	body, err := l.rc.Get().AbsPath(resourcePath(r, ns, name)).Stream(ctx)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = body.Close() }()
	dec := json.NewDecoder(io.LimitReader(body, maxObjectBytes))
	dec.UseNumber()
	var obj object
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", r, key(ns, name), err)
	}
	return obj, nil
}

// maxObjectBytes bounds one object: etcd refuses values over 1.5 MiB, and
// JSON of a protobuf-stored object is larger, but not this much.
const maxObjectBytes = 64 << 20

// key is "namespace/name", or "name" for a cluster-scoped object.
func key(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// metadata returns an object's metadata map (nil when absent).
func metadata(obj object) map[string]any {
	m, _ := obj["metadata"].(map[string]any)
	return m
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
