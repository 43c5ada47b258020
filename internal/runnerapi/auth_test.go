package runnerapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthRefused(t *testing.T) {
	tests := map[string]struct {
		auth          string
		wantChallenge string
	}{
		"no header":       {auth: "", wantChallenge: `Bearer realm="coffer-runner"`},
		"wrong token":     {auth: "Bearer wrong-token-123", wantChallenge: `Bearer realm="coffer-runner", error="invalid_token"`},
		"token prefix":    {auth: "Bearer " + testToken[:4], wantChallenge: `Bearer realm="coffer-runner", error="invalid_token"`},
		"token suffixed":  {auth: "Bearer " + testToken + "x", wantChallenge: `Bearer realm="coffer-runner", error="invalid_token"`},
		"empty bearer":    {auth: "Bearer ", wantChallenge: `Bearer realm="coffer-runner", error="invalid_token"`},
		"basic scheme":    {auth: "Basic " + testToken, wantChallenge: `Bearer realm="coffer-runner"`},
		"bare token":      {auth: testToken, wantChallenge: `Bearer realm="coffer-runner"`},
		"scheme run into": {auth: "Bearer" + testToken, wantChallenge: `Bearer realm="coffer-runner"`},
	}
	// Every authenticated route, taken from the table the mux is built from.
	var guarded []route
	for _, rt := range (&api{}).routes(nil) {
		if !rt.public {
			guarded = append(guarded, rt)
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svc := newFake()
			log, buf := logBuffer()
			h := NewHandler(svc, testToken, metricsStub, log)
			for _, rt := range guarded {
				path := strings.ReplaceAll(rt.path, "{id}", "r-1")
				rec := do(t, h, request{method: rt.method, path: path, auth: tc.auth, body: `{"backupId":"latest"}`})
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s %s: status %d, want 401", rt.method, path, rec.Code)
				}
				if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantChallenge {
					t.Errorf("%s %s: WWW-Authenticate = %q, want %q", rt.method, path, got, tc.wantChallenge)
				}
				errorOf(t, rec)
				if want := "path=" + path; !strings.Contains(buf.String(), want) {
					t.Errorf("refusal log lacks %q:\n%s", want, buf)
				}
			}
			if len(svc.started) != 0 || svc.busy {
				t.Error("an unauthorized request reached the service")
			}
			logged := buf.String()
			for _, want := range []string{"method=GET", "method=POST", "remote=10.1.2.3:4567", "API request refused"} {
				if !strings.Contains(logged, want) {
					t.Errorf("log lacks %q:\n%s", want, logged)
				}
			}
			assertNoSecret(t, logged, tc.auth)
		})
	}
}

// assertNoSecret fails if the log holds the configured token, the header
// sent, or the header's name.
func assertNoSecret(t *testing.T, logged, header string) {
	t.Helper()
	secrets := []string{testToken, "Authorization", "authorization"}
	if _, tok, ok := strings.Cut(header, " "); ok && len(tok) >= 4 {
		secrets = append(secrets, tok)
	}
	for _, s := range secrets {
		if strings.Contains(logged, s) {
			t.Errorf("log contains %q:\n%s", s, logged)
		}
	}
}

func TestAuthAccepted(t *testing.T) {
	tests := map[string]struct {
		configured, header string
	}{
		"exact":                   {configured: testToken, header: "Bearer " + testToken},
		"scheme case-insensitive": {configured: testToken, header: "bearer " + testToken},
		"secret with newline":     {configured: testToken + "\n", header: "Bearer " + testToken},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			log, buf := logBuffer()
			rec := do(t, NewHandler(newFake(), tc.configured, nil, log), request{method: "GET", path: "/v1/backups", auth: tc.header})
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
			}
			assertNoSecret(t, buf.String(), tc.header)
		})
	}
}

// An empty token must not open the API: /v1 is refused, probes still work.
func TestEmptyTokenRefusesAll(t *testing.T) {
	for name, configured := range map[string]string{"empty": "", "white space": " \n"} {
		t.Run(name, func(t *testing.T) {
			log, buf := logBuffer()
			h := NewHandler(newFake(), configured, metricsStub, log)
			if !strings.Contains(buf.String(), "API token is empty") {
				t.Errorf("misconfiguration not logged:\n%s", buf)
			}
			for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer  ", "Bearer x"} {
				if rec := do(t, h, request{method: "GET", path: "/v1/backups", auth: auth}); rec.Code != http.StatusUnauthorized {
					t.Errorf("Authorization %q: status %d, want 401", auth, rec.Code)
				}
			}
			for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
				if rec := do(t, h, request{method: "GET", path: path}); rec.Code != http.StatusOK {
					t.Errorf("%s: status %d, want 200", path, rec.Code)
				}
			}
		})
	}
}
