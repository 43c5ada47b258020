package volume

import (
	"sort"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// Service runs the volume sessions of one runner and lists the pending ones
// for the API (GET /v1/volume-pushes), where the controller finds which
// reader or writer pods to start.
type Service struct {
	push *pushendpoint.Endpoint
	wait time.Duration

	mu      sync.Mutex
	pending map[*runnerapi.VolumePush]struct{}
}

func NewService(push *pushendpoint.Endpoint, wait time.Duration) *Service {
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Service{push: push, wait: wait, pending: map[*runnerapi.VolumePush]struct{}{}}
}

// List is the pending sessions, for the API.
func (v *Service) List() []runnerapi.VolumePush {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]runnerapi.VolumePush, 0, len(v.pending))
	for p := range v.pending {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// Engine returns the engine of claim-backed targets, sessions served by v.
func (v *Service) Engine(fs *filesystem.Engine) engine.Engine { return &Engine{v: v, fs: fs} }

// announce lists a push until the returned func is called.
func (v *Service) announce(req *runnerapi.VolumePush) (done func()) {
	v.mu.Lock()
	v.pending[req] = struct{}{}
	v.mu.Unlock()
	return func() {
		v.mu.Lock()
		delete(v.pending, req)
		v.mu.Unlock()
	}
}
