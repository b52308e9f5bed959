package segment

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/template"

	"clusterbench/plan"
)

// JobFile is the Kubernetes manifest's name in the directory split writes.
const JobFile = "job.yaml"

// JobOptions are what the manifest needs besides the plan.
type JobOptions struct {
	// Name names the Job, its ConfigMap and its pods' label.
	Name string
	// Image is a container image with vegeta and a POSIX shell.
	Image string
	// Claim is the PersistentVolumeClaim the pods write their results
	// to, one file per pod; it must allow many writers (ReadWriteMany)
	// when the pods run on several nodes.
	Claim string
}

// Job writes a Kubernetes manifest that runs p's parts as an Indexed
// Job, one pod per host: a ConfigMap holding Script's script, and the Job
// whose pod of completion index i runs the part of the plan's host i and
// writes its results to the claim as i.bin. The pods spread over the
// nodes, so that each load host is a machine of its own where it can; a
// pod that fails is not retried, and does not stop the others (a backoff
// limit per index of 0), so that the merge names its part as missing
// rather than counting a part twice or losing the rest.
func Job(w io.Writer, p *Plan, o JobOptions) error {
	if err := o.Check(); err != nil {
		return err
	}
	var script bytes.Buffer
	if err := Script(&script, p); err != nil {
		return err
	}
	return jobTemplate.Execute(w, struct {
		JobOptions
		Hosts  int
		Script []string
	}{o, len(p.Hosts), strings.Split(strings.TrimRight(script.String(), "\n"), "\n")})
}

// Check says what Kubernetes would refuse of o, naming split's flags.
func (o JobOptions) Check() error {
	for _, c := range []struct{ flag, v string }{{"job-name", o.Name}, {"claim", o.Claim}} {
		if err := checkObjectName(c.v); err != nil {
			return fmt.Errorf("%s: %w", c.flag, err)
		}
	}
	if o.Image == "" {
		return fmt.Errorf("image: a container image with vegeta and sh is required")
	}
	return nil
}

// checkObjectName checks a Kubernetes object name: a DNS-1123 label, at
// most 63 lower-case letters, digits and '-', which a Job's pods need.
func checkObjectName(name string) error {
	if err := plan.CheckName(name); err != nil {
		return err
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(name)-1
		if !ok || len(name) > 63 {
			return fmt.Errorf("%q is not a Kubernetes name: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit", name)
		}
	}
	return nil
}

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string { return fmt.Sprintf("%q", s) }

var jobTemplate = template.Must(template.New(JobFile).Funcs(template.FuncMap{"q": yamlString}).Parse(`# The load of clusterbench split's plan as a Kubernetes Indexed Job: pod i runs
# host i's part (sh attack.sh i) and writes its results to the claim as i.bin.
# Then copy the results out and merge them:  clusterbench merge --plan plan.json SERVE_DIR 0.bin 1.bin ...
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{.Name}}
  labels:
    app.kubernetes.io/name: {{.Name}}
data:
  attack.sh: |
{{- range .Script}}
    {{.}}
{{- end}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{.Name}}
  labels:
    app.kubernetes.io/name: {{.Name}}
spec:
  completionMode: Indexed
  completions: {{.Hosts}}
  parallelism: {{.Hosts}}
  # A pod that fails is not run again, for its part would be sent twice,
  # and the others run on: the merge names the failed part as missing.
  backoffLimitPerIndex: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{.Name}}
    spec:
      restartPolicy: Never
      # One load host per node where the cluster has enough of them.
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app.kubernetes.io/name: {{.Name}}
      containers:
      - name: vegeta
        image: {{q .Image}}
        # JOB_COMPLETION_INDEX is the pod's index, 0 to {{.Hosts}} - 1, which the Job sets.
        command: ["sh", "-c", "exec sh /attack/attack.sh \"$JOB_COMPLETION_INDEX\" \"/results/$JOB_COMPLETION_INDEX.bin\""]
        volumeMounts:
        - name: attack
          mountPath: /attack
          readOnly: true
        - name: results
          mountPath: /results
      volumes:
      - name: attack
        configMap:
          name: {{.Name}}
      - name: results
        persistentVolumeClaim:
          claimName: {{.Claim}}
`))
