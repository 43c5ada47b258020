package kubectlcoffer

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// followed is what --wait needs of the object it follows: whether it has
// ended, the progress line while it has not, since when it runs, and the
// result once it has ended.
type followed[T client.Object] struct {
	kind   string // "Backup" or "Restore"
	ended  func(T) bool
	line   func(T) string
	start  func(T) *metav1.Time
	result func(obj T, follow string) error
}

// follow polls obj until it ends, the wait times out or ctx is cancelled,
// showing a progress line, and returns its result.
func follow[T client.Object](ctx context.Context, a *app, obj T, f followed[T], wf waitFlags) error {
	wctx, cancel := wf.context(ctx)
	defer cancel()
	p := &progress{w: a.opts.Out, terminal: a.opts.Terminal}
	began := a.opts.Now()
	key := client.ObjectKeyFromObject(obj)
	lower := strings.ToLower(f.kind) + " " + obj.GetName()
	how := fmt.Sprintf("kubectl coffer describe %s %s -n %s", strings.ToLower(f.kind), obj.GetName(), obj.GetNamespace())
	for {
		if err := a.client.Get(wctx, key, obj); err != nil {
			p.done()
			if wctx.Err() != nil {
				return waitErr(ctx, lower, how)
			}
			return apiErr(err, f.kind+" "+obj.GetName())
		}
		if f.ended(obj) {
			p.done()
			return f.result(obj, how)
		}
		since := began
		if s := f.start(obj); s != nil {
			since = s.Time
		}
		p.show(lower+": "+f.line(obj), since, a.opts.Now())
		select {
		case <-wctx.Done():
			p.done()
			return waitErr(ctx, lower, how)
		case <-time.After(a.opts.Poll):
		}
	}
}
