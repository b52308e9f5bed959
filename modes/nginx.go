package modes

import (
	"fmt"
	"strings"
	"syscall"
)

// Nginx puts a real nginx in front of the workers' own ports, as many
// deployments do instead of sharing a port between workers. nginx gets its
// own private directory (prefix, pid file, temporary paths) and logs errors
// to stderr; nothing under /etc or /var is read or written.
type Nginx struct{}

var (
	_ Mode         = Nginx{}
	_ Checker      = Nginx{}
	_ proxyProgram = Nginx{}
	_ ProgramUser  = Nginx{}
)

func init() { register(Nginx{}) }

func (Nginx) Info() Info {
	return Info{
		Name:    "nginx",
		Summary: "nginx listens on the public port and proxies to one port per worker (upstream round robin or least_conn)",
		// round-robin is nginx's default, least_conn its alternative.
		Policies:   []string{"round-robin", "least_conn"},
		AppListens: []string{ListenFD, ListenPort},
		Proxy:      true,
	}
}

func (n Nginx) Available() error { return proxyAvailable(n) }

func (n Nginx) Open(s Setup) (Frontend, error) { return openProxy("nginx", n, s) }

func (Nginx) binary() string { return "nginx" }

func (p Nginx) Programs() []string { return []string{p.binary()} }

// QUIT is nginx's graceful shutdown: finish the requests in flight.
func (Nginx) stopSignal() syscall.Signal { return syscall.SIGQUIT }

func (Nginx) config(c proxyConfig) (file, content string, args []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "worker_processes %d;\npid /tmp/nginx.pid;\nerror_log stderr warn;\n", c.Processes)
	b.WriteString("events { worker_connections 16384; }\n")
	b.WriteString("http {\n  access_log off;\n")
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path /tmp/%s;\n", kind, kind)
	}
	// The client's connections live as long as the client wants, as they
	// would against the workers directly.
	b.WriteString("  keepalive_timeout 300s;\n  keepalive_requests 1000000000;\n")
	b.WriteString("  upstream workers {\n")
	if c.Policy == "least_conn" {
		b.WriteString("    least_conn;\n")
	}
	for _, u := range c.Upstreams {
		fmt.Fprintf(&b, "    server %s max_fails=0;\n", u)
	}
	if c.KeepAlive {
		fmt.Fprintf(&b, "    keepalive %d;\n    keepalive_requests 1000000000;\n", 64*len(c.Upstreams))
	}
	b.WriteString("  }\n")
	fmt.Fprintf(&b, "  server {\n    listen %s backlog=65535;\n", c.Listen)
	fmt.Fprintf(&b, "    location = %s { add_header %s %s; return 204; }\n", readyPath, readyHeader, c.Token)
	b.WriteString("    location / {\n      proxy_pass http://workers;\n")
	// Never buffer a response to disk; responses here are small.
	b.WriteString("      proxy_max_temp_file_size 0;\n")
	if c.KeepAlive {
		b.WriteString("      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n")
	}
	b.WriteString("    }\n  }\n}\n")
	return "nginx.conf", b.String(), []string{"-e", "stderr", "-p", "/tmp/", "-c", "/tmp/nginx.conf", "-g", "daemon off;"}
}
