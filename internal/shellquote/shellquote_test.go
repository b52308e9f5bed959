package shellquote

import "testing"

func TestJoinQuotesWhatAShellWould(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"clusterbench", "run", "--mode", "shared,nginx:least_conn", "--keepalive=true,false", "-o", "/tmp/out"},
			"clusterbench run --mode shared,nginx:least_conn --keepalive=true,false -o /tmp/out"},
		{[]string{"clusterbench", "run", "-o", "my runs", "--app", "node app.js"}, "clusterbench run -o 'my runs' --app 'node app.js'"},
		{[]string{"run", "-o", "it's", ""}, `run -o 'it'\''s' ''`},
		{[]string{"run", "--app", "$(rm -rf /)"}, "run --app '$(rm -rf /)'"},
	} {
		if got := Join(c.args); got != c.want {
			t.Errorf("Join(%q) = %s; want %s", c.args, got, c.want)
		}
	}
}
