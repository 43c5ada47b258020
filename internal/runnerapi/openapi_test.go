package runnerapi

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/phase"
)

// openAPI is docs/openapi.yaml, parsed.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing docs/openapi.yaml: %v", err)
	}
	return doc
}

// child walks doc along keys, failing where a key is missing.
func child(t *testing.T, doc any, keys ...string) map[string]any {
	t.Helper()
	for i, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			t.Fatalf("openapi: %s is not a mapping", strings.Join(keys[:i], "."))
		}
		if doc, ok = m[k]; !ok {
			t.Fatalf("openapi: %s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("openapi: %s is not a mapping", strings.Join(keys, "."))
	}
	return m
}

// TestOpenAPIRoutes: the document describes exactly the routes the mux is
// built from, with the right security.
func TestOpenAPIRoutes(t *testing.T) {
	paths := child(t, openAPI(t), "paths")
	served := map[string]bool{}
	for _, rt := range (&api{}).routes(nil) {
		method := strings.ToLower(rt.method)
		served[rt.path+" "+method] = true
		op := child(t, paths, rt.path, method)
		sec, hasSec := op["security"].([]any)
		if open := hasSec && len(sec) == 0; open != rt.public {
			t.Errorf("%s %s: documented as public=%v, served as public=%v", rt.method, rt.path, open, rt.public)
		}
		if _, ok := child(t, op, "responses")["401"]; !rt.public && !ok {
			t.Errorf("%s %s: 401 is not documented", rt.method, rt.path)
		}
	}
	for path, item := range paths {
		for method := range item.(map[string]any) {
			if !served[path+" "+method] {
				t.Errorf("openapi describes %s %s, which is not served", strings.ToUpper(method), path)
			}
		}
	}
}

// TestOpenAPISchemas: each schema has exactly its Go type's JSON fields, and
// lists as required exactly the fields that are never omitted.
func TestOpenAPISchemas(t *testing.T) {
	schemas := child(t, openAPI(t), "components", "schemas")
	types := map[string]any{
		"Backup":            Backup{},
		"BackupTarget":      BackupTarget{},
		"BackupList":        BackupList{},
		"BackupRequest":     BackupRequest{},
		"RestoreRequest":    RestoreRequest{},
		"Restore":           Restore{},
		"Error":             errorBody{},
		"Status":            statusBody{},
		"RunnerStatus":      RunnerStatus{},
		"OffsiteStatus":     OffsiteStatus{},
		"VerifyStatus":      VerifyStatus{},
		"ObjectProblem":     ObjectProblem{},
		"RestoreTestStatus": RestoreTestStatus{},
		"RestoreTest":       RestoreTest{},
		"RestoreTestTarget": RestoreTestTarget{},
		"CheckResult":       CheckResult{},
		"Readiness":         Readiness{},
		"TargetProgress":    TargetProgress{},
	}
	for name, v := range types {
		t.Run(name, func(t *testing.T) {
			schema := child(t, schemas, name)
			wantProps, wantRequired := jsonFields(reflect.TypeOf(v))
			var gotProps []string
			for p := range child(t, schema, "properties") {
				gotProps = append(gotProps, p)
			}
			var gotRequired []string
			req, _ := schema["required"].([]any)
			for _, r := range req {
				gotRequired = append(gotRequired, r.(string))
			}
			slices.Sort(gotProps)
			slices.Sort(gotRequired)
			if !slices.Equal(gotProps, wantProps) {
				t.Errorf("properties %v, want %v", gotProps, wantProps)
			}
			if !slices.Equal(gotRequired, wantRequired) {
				t.Errorf("required %v, want %v", gotRequired, wantRequired)
			}
		})
	}

	var enum []string
	for _, e := range schemas["Phase"].(map[string]any)["enum"].([]any) {
		enum = append(enum, e.(string))
	}
	var want []string
	for _, p := range phase.All {
		want = append(want, string(p))
	}
	if !slices.Equal(enum, want) {
		t.Errorf("Phase enum %v, want %v", enum, want)
	}
	enum, want = nil, nil
	for _, e := range schemas["TargetPhase"].(map[string]any)["enum"].([]any) {
		enum = append(enum, e.(string))
	}
	for _, p := range phase.Targets {
		want = append(want, string(p))
	}
	if !slices.Equal(enum, want) {
		t.Errorf("TargetPhase enum %v, want %v", enum, want)
	}
}

// jsonFields are the sorted JSON names of a struct's fields, and of those the
// ones marshalled even when empty.
func jsonFields(typ reflect.Type) (all, always []string) {
	for f := range typ.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}
