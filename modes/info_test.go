package modes

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestInfo checks that every registered mode describes itself completely
// and consistently: the registry, scenarios, flags and the record all
// read a mode's Info and nothing else.
func TestInfo(t *testing.T) {
	// Neither may hold ':' or ',', which separate policies and modes.
	name := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	policy := regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	for key, m := range registry() {
		t.Run(key, func(t *testing.T) {
			info := m.Info()
			if info.Name != key {
				t.Errorf("registered as %q but named %q", key, info.Name)
			}
			if !name.MatchString(info.Name) {
				t.Errorf("name %q; want lower case letters, digits and dashes", info.Name)
			}
			if info.Summary == "" || strings.Contains(info.Summary, "\n") {
				t.Errorf("summary %q; want one line", info.Summary)
			}
			if !reflect.DeepEqual(m.Info(), info) {
				t.Errorf("Info changes between calls: %+v, then %+v", info, m.Info())
			}

			for i, p := range info.Policies {
				if p == "" && i == 0 {
					// A default without a name: the mode alone, as before it had policies.
				} else if !policy.MatchString(p) {
					t.Errorf("policy %q; want lower case letters, digits, dashes and underscores", p)
				}
				if slices.Index(info.Policies, p) != i {
					t.Errorf("policy %q listed twice in %v", p, info.Policies)
				}
				if spec, err := ParseSpec(info.Name + ":" + p); err != nil || spec.Policy != p {
					t.Errorf("ParseSpec(%q) = %v, %v; want policy %q", info.Name+":"+p, spec.Policy, err, p)
				}
			}
			if info.Policies != nil && len(info.Policies) < 2 {
				t.Errorf("policies %v: a mode with one way of picking a worker lists none", info.Policies)
			}
			spec, err := ParseSpec(info.Name)
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", info.Name, err)
			}
			wantDefault := ""
			if len(info.Policies) > 0 {
				wantDefault = info.Policies[0]
			}
			if spec.Policy != wantDefault {
				t.Errorf("default policy %q; want the first listed, %q", spec.Policy, wantDefault)
			}

			for i, l := range info.AppListens {
				if l != ListenFD && l != ListenPort {
					t.Errorf("app listens on %q; want %q or %q", l, ListenFD, ListenPort)
				}
				if slices.Index(info.AppListens, l) != i {
					t.Errorf("%q listed twice in %v", l, info.AppListens)
				}
			}
			for _, p := range info.AppPolicies {
				if !slices.Contains(info.Policies, p) {
					t.Errorf("a user's app may run under policy %q, which is not one of %v", p, info.Policies)
				}
			}
			if info.AppPolicies != nil && (info.AppListens == nil || len(info.AppPolicies) == 0) {
				t.Errorf("AppPolicies %v, AppListens %v: name the policies only of a mode that runs an app, and at least one", info.AppPolicies, info.AppListens)
			}
			_, checksPolicies := m.(PolicyChecker)
			if checksPolicies && info.Policies == nil {
				t.Error("checks its policies but has none")
			}
			if info.WorkerApp != "" && info.AppListens != nil {
				t.Errorf("runs its own app (%s) yet offers to run yours on %v", info.WorkerApp, info.AppListens)
			}

			_, runsProxy := m.(proxyProgram)
			if info.Proxy != runsProxy {
				t.Errorf("Proxy is %v, but the mode runs a proxy program: %v", info.Proxy, runsProxy)
			}
			if info.Proxy && !slices.Contains(info.AppListens, ListenPort) {
				t.Errorf("a proxy points at one port per worker, so an app can listen on it; AppListens %v", info.AppListens)
			}
			if info.OneProcess && (info.AppListens != nil || info.WorkerApp != "" || info.Proxy) {
				t.Errorf("one process of Go worker threads, yet it runs another app or a proxy: %+v", info)
			}
			if (info.PrivateNetwork || info.PrivateNetworkPolicies != nil) && !strings.Contains(info.Summary, "private network namespace") {
				t.Errorf("summary %q does not say that the mode runs only in a private network namespace", info.Summary)
			}
			for _, p := range info.PrivateNetworkPolicies {
				if !slices.Contains(info.Policies, p) {
					t.Errorf("private network policy %q is not one of the policies %v", p, info.Policies)
				}
			}
		})
	}
	if len(registry()) < 8 {
		t.Errorf("%d modes registered: %v; want at least the eight this tool ships", len(registry()), Names())
	}
}
