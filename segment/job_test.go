package segment

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"clusterbench/internal/kubecheck"
)

func jobOf(t *testing.T, hosts int) (*Plan, []byte) {
	t.Helper()
	names := make([]string, hosts)
	for i := range names {
		names[i] = string(rune('0' + i))
	}
	p, err := New(Load{URL: "http://10.0.0.1:8080/", Rate: 3000, Duration: 30 * time.Second, Warmup: 2 * time.Second,
		Concurrency: 96, KeepAlive: true, Timeout: 10 * time.Second, Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, names, Even(hosts)) // long begun: no wait
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Job(&b, p, JobOptions{Name: "clusterbench-load", Image: "registry.example/vegeta:12.12.0", Claim: "clusterbench-results"}); err != nil {
		t.Fatal(err)
	}
	return p, b.Bytes()
}

// TestJobIsAValidIndexedJob decodes the manifest with Kubernetes' own
// types, strictly (kubecheck), and checks what makes it run the plan: an Indexed Job
// of one pod per host, all at once and none again (one failing ends no
// other), each running the
// ConfigMap's script, which is the plan's, for its completion index.
// Not checked, for want of a cluster: the API server's own validation
// beyond types and fields, admission, that the image and the claim exist.
func TestJobIsAValidIndexedJob(t *testing.T) {
	p, manifest := jobOf(t, 3)
	objs, err := kubecheck.Decode(manifest)
	if err != nil {
		t.Fatalf("the manifest does not decode strictly: %v\n%s", err, manifest)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects; want a ConfigMap and a Job", len(objs))
	}
	cm, ok1 := objs[0].(*corev1.ConfigMap)
	job, ok2 := objs[1].(*batchv1.Job)
	if !ok1 || !ok2 {
		t.Fatalf("objects %T, %T; want a ConfigMap and a Job", objs[0], objs[1])
	}
	var script bytes.Buffer
	if err := Script(&script, p); err != nil {
		t.Fatal(err)
	}
	if cm.Data[ScriptFile] != script.String() {
		t.Errorf("the ConfigMap's script differs from the plan's:\n%s", cm.Data[ScriptFile])
	}
	s := job.Spec
	switch {
	case s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion:
		t.Errorf("completion mode %v; want Indexed", s.CompletionMode)
	case s.Completions == nil || *s.Completions != 3 || s.Parallelism == nil || *s.Parallelism != 3:
		t.Errorf("completions %v, parallelism %v; want 3 and 3: every host at once", s.Completions, s.Parallelism)
	case s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 || s.BackoffLimit != nil || s.MaxFailedIndexes != nil:
		// With a backoff limit of the whole Job, its first failed pod would end every other.
		t.Errorf("backoff limit per index %v, of the Job %v, max failed indexes %v; want 0 per index alone: a failed part is named missing, never sent twice, and the others run on",
			s.BackoffLimitPerIndex, s.BackoffLimit, s.MaxFailedIndexes)
	case s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("restart policy %q; want Never, which a Job needs", s.Template.Spec.RestartPolicy)
	case len(s.Template.Spec.Containers) != 1:
		t.Fatalf("%d containers; want 1", len(s.Template.Spec.Containers))
	}
	c := s.Template.Spec.Containers[0]
	if c.Image != "registry.example/vegeta:12.12.0" || c.Name == "" {
		t.Errorf("container %q of image %q", c.Name, c.Image)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range s.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("mount %s names no volume", m.Name)
		}
	}
	if v := volumes["attack"]; v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("the attack volume is not the ConfigMap %s: %+v", cm.Name, v)
	}
	if v := volumes["results"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "clusterbench-results" {
		t.Errorf("the results volume is not the claim: %+v", v)
	}
	// The pod's command, as its shell runs it for each index, with the
	// mounts where the test has them and a vegeta that notes its calls.
	dir := t.TempDir()
	for name, text := range map[string]string{ScriptFile: cm.Data[ScriptFile], "vegeta": fakeVegeta} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.Command) != 3 || c.Command[0] != "sh" || c.Command[1] != "-c" {
		t.Fatalf("command %q; want sh -c SCRIPT", c.Command)
	}
	line := strings.NewReplacer("/attack/", dir+"/", "/results/", dir+"/").Replace(c.Command[2])
	for i, want := range []string{"-name=0 -rate=1000/1s -workers=32", "-name=1 -rate=1000/1s -workers=32", "-name=2 -rate=1000/1s -workers=32"} {
		calls := filepath.Join(dir, "calls")
		os.Remove(calls)
		cmd := exec.Command("sh", "-c", line)
		cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+string(rune('0'+i)), "VEGETA="+filepath.Join(dir, "vegeta"), "CALLS="+calls)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pod %d: %v: %s", i, err, out)
		}
		data, _ := os.ReadFile(calls)
		if !strings.Contains(string(data), want) || !strings.Contains(string(data), "-output="+dir+"/"+string(rune('0'+i))+".bin") {
			t.Errorf("pod %d ran:\n%s\nwant its part (%s) written to %d.bin", i, data, want, i)
		}
	}
}

// TestKubeDecoderCatchesBrokenJobs: the check above fails a manifest
// that is not a Job Kubernetes would take.
func TestKubeDecoderCatchesBrokenJobs(t *testing.T) {
	_, manifest := jobOf(t, 2)
	for _, c := range []struct{ from, to string }{
		{"completionMode: Indexed", "completionsMode: Indexed"}, // unknown field
		{"completionMode: Indexed", "CompletionMode: Indexed"},  // wrong case
		{"completions: 2", `completions: "two"`},                // wrong type
		{"parallelism: 2", "parallelism: 2\n  parallelism: 3"},  // a key twice
	} {
		broken := strings.Replace(string(manifest), c.from, c.to, 1)
		if broken == string(manifest) {
			t.Fatalf("the manifest has no %q", c.from)
		}
		if _, err := kubecheck.Decode([]byte(broken)); err == nil {
			t.Errorf("%q instead of %q decoded", c.to, c.from)
		}
	}
}

func TestJobRefuses(t *testing.T) {
	p, _ := jobOf(t, 2)
	for _, c := range []struct {
		o    JobOptions
		want string
	}{
		{JobOptions{Name: "Load_1", Image: "x", Claim: "c"}, "job-name:"},
		{JobOptions{Name: "load", Image: "x", Claim: "-c"}, "claim:"},
		{JobOptions{Name: "load", Claim: "c"}, "image: a container image"},
	} {
		if err := Job(io.Discard, p, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Job(%+v): %v; want an error about %s", c.o, err, c.want)
		}
	}
}
