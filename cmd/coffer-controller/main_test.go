package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseResources(t *testing.T) {
	tests := map[string]struct {
		in, err          string
		cpuReq, memLimit string
	}{
		"empty":        {in: ""},
		"chart values": {in: `{"limits":{"memory":"1Gi"},"requests":{"cpu":"100m","memory":"128Mi"}}`, cpuReq: "100m", memLimit: "1Gi"},
		"typo":         {in: `{"request":{"cpu":"1"}}`, err: `unknown field "request"`},
		"bad quantity": {in: `{"requests":{"cpu":"lots"}}`, err: "--runner-resources"},
		"above limit":  {in: `{"requests":{"memory":"2Gi"},"limits":{"memory":"1Gi"}}`, err: "the memory request 2Gi is above its limit 1Gi"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := parseResources(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q := r.Requests[corev1.ResourceCPU]; tc.cpuReq != "" && q.String() != tc.cpuReq {
				t.Errorf("cpu request %s, want %s", q.String(), tc.cpuReq)
			}
			if q := r.Limits[corev1.ResourceMemory]; tc.memLimit != "" && q.String() != tc.memLimit {
				t.Errorf("memory limit %s, want %s", q.String(), tc.memLimit)
			}
			if tc.in == "" && (r.Requests != nil || r.Limits != nil) {
				t.Errorf("empty flag gave %v", r)
			}
		})
	}
}
