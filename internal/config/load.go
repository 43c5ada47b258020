package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// Load reads, decodes and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates config data; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, err)
	}
	c := &Config{Path: name, Secrets: map[string]map[string][]byte{}}
	var errs []error
	var storages, definitions int
	for i, doc := range docs {
		if err := c.addDocument(doc, &storages, &definitions); err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", name, i+1, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	switch {
	case storages == 0:
		errs = append(errs, fmt.Errorf("%s: no BackupStorage: the file needs exactly one", name))
	case storages > 1:
		errs = append(errs, fmt.Errorf("%s: %d BackupStorage objects: the file needs exactly one", name, storages))
	}
	switch {
	case definitions == 0:
		errs = append(errs, fmt.Errorf("%s: no BackupDefinition: the file needs exactly one", name))
	case definitions > 1:
		errs = append(errs, fmt.Errorf("%s: %d BackupDefinition objects: the file needs exactly one", name, definitions))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if c.Definition.Namespace == "" {
		c.Definition.Namespace = "default"
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

type typeHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func (c *Config) addDocument(doc []byte, storages, definitions *int) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("invalid YAML: %s", yamlReason(err))
	}
	var h typeHeader
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &h); err != nil {
		return fmt.Errorf("reading apiVersion/kind: %s", yamlReason(err))
	}
	obj := describe(h.Kind, h.Metadata.Namespace, h.Metadata.Name)
	if h.Metadata.Name == "" {
		return fmt.Errorf("%s: metadata.name: required", obj)
	}
	switch {
	case h.APIVersion == v1alpha1.APIVersion && h.Kind == "BackupStorage":
		*storages++
		return decodeStrict(js, obj, &c.Storage)
	case h.APIVersion == v1alpha1.APIVersion && h.Kind == "BackupDefinition":
		*definitions++
		return decodeStrict(js, obj, &c.Definition)
	case h.APIVersion == "v1" && h.Kind == "Secret":
		return c.addSecret(js, obj)
	default:
		return fmt.Errorf("%s: unsupported apiVersion %q kind %q (expected %s BackupStorage or BackupDefinition, or v1 Secret)",
			obj, h.APIVersion, h.Kind, v1alpha1.APIVersion)
	}
}

func (c *Config) addSecret(js []byte, obj string) error {
	var s corev1.Secret
	if err := decodeStrict(js, obj, &s); err != nil {
		return err
	}
	if _, dup := c.Secrets[s.Name]; dup {
		return fmt.Errorf("%s: a Secret named %q appears twice", obj, s.Name)
	}
	data := map[string][]byte{}
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	c.Secrets[s.Name] = data
	return nil
}

// decodeStrict decodes JSON into v, rejecting unknown and duplicate fields;
// errors carry the field path (e.g. spec.s3.bukcet).
func decodeStrict(js []byte, obj string, v any) error {
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return fmt.Errorf("%s: %s", obj, capped(strings.TrimPrefix(err.Error(), "json: ")))
	}
	if len(strict) > 0 {
		msgs := make([]string, 0, len(strict))
		for _, e := range strict {
			msgs = append(msgs, capped(strings.TrimPrefix(e.Error(), "json: ")))
		}
		return fmt.Errorf("%s: %s", obj, strings.Join(msgs, "; "))
	}
	return nil
}

// capped bounds a decoder message, which may quote a field name of any
// length from the file.
func capped(msg string) string {
	const limit = 300
	if len(msg) > limit {
		return msg[:limit] + "…"
	}
	return msg
}

func describe(kind, namespace, name string) string {
	if kind == "" {
		kind = "object"
	}
	if namespace != "" {
		return fmt.Sprintf("%s %s/%s", kind, namespace, name)
	}
	return fmt.Sprintf("%s %q", kind, name)
}
