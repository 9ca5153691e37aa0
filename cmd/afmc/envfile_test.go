package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The rules of systemd's EnvironmentFile=, as its own tests pin them
// (src/test/test-env-file.c, systemd 252), and the cases sites write.
func TestParseEnvFile(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []string // KEY=VALUE, in order
	}{
		{"systemd env_file_1", "a=a\nb=b\\\nc\nd=d\\\ne\\\nf\ng=g\\ \nh=h\ni=i\\", []string{"a=a", "b=bc", "d=def", "g=g ", "h=h", "i=i"}},
		{"systemd env_file_2", "a=a\\\n", []string{"a=a"}},
		{"systemd env_file_4", "# Generated\n\nHWMON_MODULES=\"coretemp f71882fg\"\n\n# For compatibility reasons\n\nMODULE_0=coretemp\nMODULE_1=f71882fg",
			[]string{"HWMON_MODULES=coretemp f71882fg", "MODULE_0=coretemp", "MODULE_1=f71882fg"}},
		{"systemd env_file_5", "a=\nb=", []string{"a=", "b="}},
		{"systemd env_file_6", "a=\\ \\n \\t \\x \\y \\' \n" + "b= \\$'                  \n" + "c= ' \\n\\t\\$\\`\\\\\n" + "'   \n" + "d= \" \\n\\t\\$\\`\\\\\n" + "\"   \n",
			[]string{"a= n t x y '", "b=$'", "c= \\n\\t\\$\\`\\\\\n", "d= \\n\\t$`\\\n"}},
		{"nothing expanded", "AFMC_SALT=5tKC%>f&%#hg $HOME \"q\"  \n", []string{`AFMC_SALT=5tKC%>f&%#hg $HOME "q"`}},
		{"quoted parts join", `K='a b  '"$c \"d\""x`, []string{`K=a b  $c "d"x`}},
		{"blanks around the key", "  K  =  v  \n", []string{"K=v"}},
		{"; comment and no =", "; a comment\nJUSTAWORD\n#K=v\nK=v", []string{"K=v"}},
		{"CRLF", "A=1\r\nB='2'\r\n", []string{"A=1", "B=2"}},
		{"later wins is for the caller", "K=1\nK=2\n", []string{"K=1", "K=2"}},
		{"multi-line quoted", "K=\"a\nb\"\n", []string{"K=a\nb"}},
		{"backslash in a comment, not at its end", "# a \\ b\nK=v\n", []string{"K=v"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnvFile([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var kv []string
			for _, e := range got {
				kv = append(kv, e.key+"="+e.value)
			}
			if strings.Join(kv, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got  %q\nwant %q", kv, tt.want)
			}
		})
	}
	// What systemd versions disagree on, and what is no text.
	for _, bad := range []string{"# a comment \\\nK=v\n", "K=a\x00b\n"} {
		if _, err := parseEnvFile([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	got, _ := parseEnvFile([]byte("A=1\n\nB=2\n# c\nC=3"))
	if len(got) != 3 || got[0].line != 1 || got[1].line != 3 || got[2].line != 5 {
		t.Errorf("lines: %+v", got)
	}
}

// Names systemd would ignore are ignored, with a warning naming the line;
// the last assignment of a name wins.
func TestReadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "afmc.env")
	if err := os.WriteFile(path, []byte("1BAD=x\nGOOD=1\nA-B=2\nGOOD=2\nBIN=\xff\xfe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ef, err := readEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ef.values["GOOD"] != "2" || len(ef.values) != 1 {
		t.Errorf("values %v", ef.values)
	}
	w := strings.Join(ef.warnings, "\n")
	for _, want := range []string{`line 1: "1BAD" is not a variable name`, `line 3: "A-B" is not a variable name`, "line 5: the value of BIN is not valid UTF-8"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if get := ef.overlay(func(k string) string { return "env:" + k }); get("GOOD") != "2" || get("OTHER") != "env:OTHER" {
		t.Error("overlay: the file's variables beat the environment, which gives the rest")
	}
}

// Whatever the file holds, the parser neither panics nor loses track of
// lines, and a single-quoted value reads back as written.
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"a=a\nb=b\\\nc", "K='x y'", `K="a\"b"`, "# c\\\n", "K=\r\n", "K=v\\"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := parseEnvFile(b)
		if err != nil {
			return
		}
		last := 0
		for _, e := range entries {
			if e.line < last || e.line > strings.Count(string(b), "\n")+1 || e.key == "" {
				t.Fatalf("entry %+v after line %d", e, last)
			}
			last = e.line
		}
		if v := string(b); !strings.ContainsAny(v, "'\x00") {
			got, err := parseEnvFile([]byte("K='" + v + "'"))
			if err != nil || len(got) != 1 || got[0].value != v {
				t.Fatalf("K='%q': %+v %v", v, got, err)
			}
		}
	})
}
