package examples

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The subset of the Kubernetes API the manifests use, field for field as
// the API names them. Decoding is strict: a field not here (a typo, or a
// field put at the wrong level) fails the test, as `kubectl apply
// --validate=strict` would fail the site.

type typeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type namespace struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
}

type serviceAccount struct {
	typeMeta                     `yaml:",inline"`
	Metadata                     objectMeta `yaml:"metadata"`
	AutomountServiceAccountToken *bool      `yaml:"automountServiceAccountToken"`
}

type policyRule struct {
	APIGroups     []string `yaml:"apiGroups"`
	Resources     []string `yaml:"resources"`
	Verbs         []string `yaml:"verbs"`
	ResourceNames []string `yaml:"resourceNames"`
}

type role struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta   `yaml:"metadata"`
	Rules    []policyRule `yaml:"rules"`
}

type roleRef struct {
	APIGroup string `yaml:"apiGroup"`
	Kind     string `yaml:"kind"`
	Name     string `yaml:"name"`
}

type subject struct {
	Kind      string `yaml:"kind"`
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

type roleBinding struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	RoleRef  roleRef    `yaml:"roleRef"`
	Subjects []subject  `yaml:"subjects"`
}

type configMap struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta        `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

type secret struct {
	typeMeta   `yaml:",inline"`
	Metadata   objectMeta        `yaml:"metadata"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

type resourceRequirements struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

type pvcSpec struct {
	AccessModes      []string             `yaml:"accessModes"`
	Resources        resourceRequirements `yaml:"resources"`
	StorageClassName *string              `yaml:"storageClassName"`
	VolumeMode       string               `yaml:"volumeMode"`
}

type persistentVolumeClaim struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     pvcSpec    `yaml:"spec"`
}

type seccompProfile struct {
	Type             string `yaml:"type"`
	LocalhostProfile string `yaml:"localhostProfile"`
}

type podSecurityContext struct {
	RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
	RunAsUser      *int64          `yaml:"runAsUser"`
	RunAsGroup     *int64          `yaml:"runAsGroup"`
	FSGroup        *int64          `yaml:"fsGroup"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type capabilities struct {
	Add  []string `yaml:"add"`
	Drop []string `yaml:"drop"`
}

type securityContext struct {
	RunAsNonRoot             *bool           `yaml:"runAsNonRoot"`
	RunAsUser                *int64          `yaml:"runAsUser"`
	RunAsGroup               *int64          `yaml:"runAsGroup"`
	AllowPrivilegeEscalation *bool           `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool           `yaml:"readOnlyRootFilesystem"`
	Privileged               *bool           `yaml:"privileged"`
	Capabilities             *capabilities   `yaml:"capabilities"`
	SeccompProfile           *seccompProfile `yaml:"seccompProfile"`
}

type objectFieldSelector struct {
	FieldPath  string `yaml:"fieldPath"`
	APIVersion string `yaml:"apiVersion"`
}

type keySelector struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

type envVarSource struct {
	FieldRef        *objectFieldSelector `yaml:"fieldRef"`
	SecretKeyRef    *keySelector         `yaml:"secretKeyRef"`
	ConfigMapKeyRef *keySelector         `yaml:"configMapKeyRef"`
}

type envVar struct {
	Name      string        `yaml:"name"`
	Value     string        `yaml:"value"`
	ValueFrom *envVarSource `yaml:"valueFrom"`
}

type volumeMount struct {
	Name             string `yaml:"name"`
	MountPath        string `yaml:"mountPath"`
	ReadOnly         bool   `yaml:"readOnly"`
	SubPath          string `yaml:"subPath"`
	MountPropagation string `yaml:"mountPropagation"`
}

type container struct {
	Name            string               `yaml:"name"`
	Image           string               `yaml:"image"`
	ImagePullPolicy string               `yaml:"imagePullPolicy"`
	Command         []string             `yaml:"command"`
	Args            []string             `yaml:"args"`
	Env             []envVar             `yaml:"env"`
	SecurityContext *securityContext     `yaml:"securityContext"`
	VolumeMounts    []volumeMount        `yaml:"volumeMounts"`
	Resources       resourceRequirements `yaml:"resources"`
}

type configMapVolume struct {
	Name        string `yaml:"name"`
	DefaultMode *int32 `yaml:"defaultMode"`
}

type secretVolume struct {
	SecretName  string `yaml:"secretName"`
	DefaultMode *int32 `yaml:"defaultMode"`
}

type pvcVolume struct {
	ClaimName string `yaml:"claimName"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type hostPathVolume struct {
	Path string `yaml:"path"`
	Type string `yaml:"type"`
}

type volume struct {
	Name                  string           `yaml:"name"`
	ConfigMap             *configMapVolume `yaml:"configMap"`
	Secret                *secretVolume    `yaml:"secret"`
	PersistentVolumeClaim *pvcVolume       `yaml:"persistentVolumeClaim"`
	HostPath              *hostPathVolume  `yaml:"hostPath"`
}

type podSpec struct {
	ServiceAccountName           string              `yaml:"serviceAccountName"`
	AutomountServiceAccountToken *bool               `yaml:"automountServiceAccountToken"`
	RestartPolicy                string              `yaml:"restartPolicy"`
	HostNetwork                  bool                `yaml:"hostNetwork"`
	HostPID                      bool                `yaml:"hostPID"`
	NodeSelector                 map[string]string   `yaml:"nodeSelector"`
	SecurityContext              *podSecurityContext `yaml:"securityContext"`
	InitContainers               []container         `yaml:"initContainers"`
	Containers                   []container         `yaml:"containers"`
	Volumes                      []volume            `yaml:"volumes"`
}

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type jobSpec struct {
	BackoffLimit            *int32      `yaml:"backoffLimit"`
	ActiveDeadlineSeconds   *int64      `yaml:"activeDeadlineSeconds"`
	TTLSecondsAfterFinished *int32      `yaml:"ttlSecondsAfterFinished"`
	Template                podTemplate `yaml:"template"`
}

type jobTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     jobSpec    `yaml:"spec"`
}

type cronJobSpec struct {
	Schedule                   string      `yaml:"schedule"`
	TimeZone                   string      `yaml:"timeZone"`
	ConcurrencyPolicy          string      `yaml:"concurrencyPolicy"`
	StartingDeadlineSeconds    *int64      `yaml:"startingDeadlineSeconds"`
	Suspend                    *bool       `yaml:"suspend"`
	SuccessfulJobsHistoryLimit *int32      `yaml:"successfulJobsHistoryLimit"`
	FailedJobsHistoryLimit     *int32      `yaml:"failedJobsHistoryLimit"`
	JobTemplate                jobTemplate `yaml:"jobTemplate"`
}

type cronJob struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta  `yaml:"metadata"`
	Spec     cronJobSpec `yaml:"spec"`
}

// kinds maps apiVersion and kind to a new object to decode into.
var kinds = map[typeMeta]func() any{
	{"v1", "Namespace"}:                             func() any { return new(namespace) },
	{"v1", "ServiceAccount"}:                        func() any { return new(serviceAccount) },
	{"v1", "ConfigMap"}:                             func() any { return new(configMap) },
	{"v1", "Secret"}:                                func() any { return new(secret) },
	{"v1", "PersistentVolumeClaim"}:                 func() any { return new(persistentVolumeClaim) },
	{"rbac.authorization.k8s.io/v1", "Role"}:        func() any { return new(role) },
	{"rbac.authorization.k8s.io/v1", "RoleBinding"}: func() any { return new(roleBinding) },
	{"batch/v1", "CronJob"}:                         func() any { return new(cronJob) },
}

// manifest is one decoded document.
type manifest struct {
	file string
	obj  any
}

// decodeManifests decodes every document of a multi-document YAML file
// strictly into its kind's struct.
func decodeManifests(name string, b []byte) ([]manifest, error) {
	var out []manifest
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		var tm typeMeta
		if err := n.Decode(&tm); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		mk, ok := kinds[tm]
		if !ok {
			return nil, fmt.Errorf("%s: document %d: apiVersion %q kind %q is not one this test knows", name, i, tm.APIVersion, tm.Kind)
		}
		// Strict: re-encode the document and decode it with KnownFields.
		raw, err := yaml.Marshal(&n)
		if err != nil {
			return nil, err
		}
		obj := mk()
		strict := yaml.NewDecoder(bytes.NewReader(raw))
		strict.KnownFields(true)
		if err := strict.Decode(obj); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %w", name, i, tm.Kind, err)
		}
		out = append(out, manifest{file: name, obj: obj})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no documents", name)
	}
	return out, nil
}

func manifests(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob("k8s-cronjob/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s-cronjob: %v", err)
	}
	var all []manifest
	for _, f := range files {
		ms, err := decodeManifests(f, readFile(t, f))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ms...)
	}
	return all
}

// A typo anywhere fails the decoding.
func TestDecodeManifestsIsStrict(t *testing.T) {
	good := readFile(t, "k8s-cronjob/cronjob.yaml")
	if _, err := decodeManifests("cronjob.yaml", good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to string }{
		{"concurrencyPolicy:", "concurencyPolicy:"},
		{"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"},
		{"mountPath: /var/lib/afmc", "mountpath: /var/lib/afmc"},
		{"kind: CronJob", "kind: Cronjob"},
		{"apiVersion: batch/v1", "apiVersion: batch/v1beta1"},
		{"startingDeadlineSeconds: 120", "startingDeadlineSeconds: two"},
		{"      backoffLimit: 0", "      backoffLimit: 0\n      restartPolicy: Never"},
	} {
		bad := strings.Replace(string(good), c.from, c.to, 1)
		if bad == string(good) {
			t.Fatalf("cronjob.yaml has no %q to change", c.from)
		}
		if _, err := decodeManifests("cronjob.yaml", []byte(bad)); err == nil {
			t.Errorf("%q for %q was not refused", c.to, c.from)
		}
	}
}

var cronField = regexp.MustCompile(`^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$`)

// everyMinutes is the period of a "*/N * * * *" schedule, in seconds.
func everyMinutes(t *testing.T, schedule string) int64 {
	t.Helper()
	f := strings.Fields(schedule)
	if len(f) != 5 {
		t.Fatalf("schedule %q: want 5 fields", schedule)
	}
	for _, x := range f {
		if !cronField.MatchString(x) {
			t.Fatalf("schedule %q: bad field %q", schedule, x)
		}
	}
	var n int64
	if _, err := fmt.Sscanf(f[0], "*/%d", &n); err != nil || n <= 0 || strings.Join(f[1:], " ") != "* * * *" {
		t.Fatalf("schedule %q: want */N * * * *", schedule)
	}
	return n * 60
}

func TestManifests(t *testing.T) {
	all := manifests(t)
	byKind := map[string][]any{}
	names := map[string]bool{} // kind/namespace/name
	for _, m := range all {
		var kind, ns, name string
		switch o := m.obj.(type) {
		case *namespace:
			kind, name = o.Kind, o.Metadata.Name
		case *serviceAccount:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		case *role:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		case *roleBinding:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		case *configMap:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		case *secret:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		case *persistentVolumeClaim:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		case *cronJob:
			kind, ns, name = o.Kind, o.Metadata.Namespace, o.Metadata.Name
		}
		if name == "" || (kind != "Namespace" && ns == "") {
			t.Errorf("%s: a %s without a name or namespace", m.file, kind)
		}
		key := kind + "/" + ns + "/" + name
		if names[key] {
			t.Errorf("%s: %s defined twice", m.file, key)
		}
		names[key] = true
		byKind[kind] = append(byKind[kind], m.obj)
	}

	// The token is never in the manifests: the Secret is made from a file.
	for _, o := range byKind["Secret"] {
		s := o.(*secret)
		if len(s.Data)+len(s.StringData) > 0 {
			t.Errorf("Secret %s carries data in the example: create it from a file instead", s.Metadata.Name)
		}
	}

	// RBAC: only list on pods, bound to afmc's service account.
	roles := byKind["Role"]
	if len(roles) == 0 {
		t.Fatal("no Role")
	}
	for _, o := range roles {
		r := o.(*role)
		if len(r.Rules) != 1 {
			t.Errorf("Role %s/%s: %d rules, want one", r.Metadata.Namespace, r.Metadata.Name, len(r.Rules))
			continue
		}
		rule := r.Rules[0]
		if !slices.Equal(rule.APIGroups, []string{""}) || !slices.Equal(rule.Resources, []string{"pods"}) || !slices.Equal(rule.Verbs, []string{"list"}) || rule.ResourceNames != nil {
			t.Errorf("Role %s/%s grants %+v, want exactly verbs [list] on [pods] of the core group", r.Metadata.Namespace, r.Metadata.Name, rule)
		}
	}
	hubNamespaces := map[string]bool{}
	for _, o := range byKind["RoleBinding"] {
		b := o.(*roleBinding)
		if b.RoleRef.APIGroup != "rbac.authorization.k8s.io" || b.RoleRef.Kind != "Role" || !names["Role/"+b.Metadata.Namespace+"/"+b.RoleRef.Name] {
			t.Errorf("RoleBinding %s/%s binds %+v, not a Role of its namespace defined here", b.Metadata.Namespace, b.Metadata.Name, b.RoleRef)
		}
		for _, s := range b.Subjects {
			if s.Kind != "ServiceAccount" || !names["ServiceAccount/"+s.Namespace+"/"+s.Name] {
				t.Errorf("RoleBinding %s/%s: subject %+v is not a ServiceAccount defined here", b.Metadata.Namespace, b.Metadata.Name, s)
			}
		}
		hubNamespaces[b.Metadata.Namespace] = true
	}
	if len(hubNamespaces) != len(roles) {
		t.Errorf("%d Roles but RoleBindings in %d namespaces: one pair per hub namespace", len(roles), len(hubNamespaces))
	}

	var configured []string // hub namespaces named by a ConfigMap's jupyter setting
	for _, o := range byKind["ConfigMap"] {
		cm := o.(*configMap)
		settings, err := checkConfig([]byte(cm.Data["afmc.yaml"]))
		if err != nil {
			t.Errorf("ConfigMap %s: afmc.yaml: %v", cm.Metadata.Name, err)
			continue
		}
		if n := settings["jupyter"]; n != nil {
			for _, e := range n.Content {
				if kind, rest, ok := strings.Cut(e.Value, "="); ok {
					ns, _, _ := strings.Cut(rest, "/")
					configured = append(configured, ns)
					if !slices.Contains(dashboardHubs, e.Value) {
						t.Errorf("ConfigMap %s: hub %s is none the dashboards know (%s): kind %s", cm.Metadata.Name, e.Value, strings.Join(dashboardHubs, ", "), kind)
					}
				}
			}
		}
		if settings["token_file"] == nil {
			t.Errorf("ConfigMap %s: afmc.yaml has no token_file", cm.Metadata.Name)
		}
	}
	for _, ns := range configured {
		if !hubNamespaces[ns] {
			t.Errorf("hub namespace %s of the ConfigMap has no RoleBinding: afmc would be refused its pods", ns)
		}
	}
	for ns := range hubNamespaces {
		if !slices.Contains(configured, ns) {
			t.Errorf("RoleBinding in %s, which no hub of the ConfigMap names: a grant nothing uses", ns)
		}
	}

	cronJobs := byKind["CronJob"]
	if len(cronJobs) == 0 {
		t.Fatal("no CronJob")
	}
	sawJupyter := false
	for _, o := range cronJobs {
		cj := o.(*cronJob)
		t.Run(cj.Metadata.Name, func(t *testing.T) {
			checkCronJob(t, cj, names)
			if c := afmcContainer(t, cj); c != nil && slices.Contains(c.Args, "jupyter") {
				sawJupyter = true
			}
		})
	}
	if !sawJupyter {
		t.Error("no CronJob runs the jupyter collector")
	}
}

// dashboardHubs are the hubs the dashboards draw, as the original sent
// them: its -j always sent these two.
var dashboardHubs = []string{"jupyter-ml=af-jupyter/owner", "jupyter-coffea=coffea-casa/jhub_user"}

func afmcContainer(t *testing.T, cj *cronJob) *container {
	t.Helper()
	cs := cj.Spec.JobTemplate.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Errorf("%d containers, want one", len(cs))
		return nil
	}
	return &cs[0]
}

func checkCronJob(t *testing.T, cj *cronJob, names map[string]bool) {
	ns := cj.Metadata.Namespace
	s := cj.Spec
	period := everyMinutes(t, s.Schedule)
	if s.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q, want Forbid", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 || *s.StartingDeadlineSeconds >= period {
		t.Errorf("startingDeadlineSeconds must be set, below the period of %ds", period)
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil {
		t.Error("successfulJobsHistoryLimit and failedJobsHistoryLimit must be set")
	}
	js := s.JobTemplate.Spec
	if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 || *js.ActiveDeadlineSeconds >= period {
		t.Errorf("activeDeadlineSeconds must be set, shorter than the period of %ds", period)
	}
	if js.BackoffLimit == nil || *js.BackoffLimit != 0 {
		t.Error("backoffLimit must be 0: the next run retries from the spool")
	}
	pod := js.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser, seccompProfile RuntimeDefault", psc)
	}
	if psc != nil && psc.FSGroup != nil {
		t.Error("fsGroup makes the state volume group-writable, which afmc refuses")
	}
	if pod.ServiceAccountName != "" && !names["ServiceAccount/"+ns+"/"+pod.ServiceAccountName] {
		t.Errorf("serviceAccountName %s is not defined here", pod.ServiceAccountName)
	}

	volumes := map[string]volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			if !names["ConfigMap/"+ns+"/"+v.ConfigMap.Name] {
				t.Errorf("volume %s: ConfigMap %s is not defined here", v.Name, v.ConfigMap.Name)
			}
		case v.PersistentVolumeClaim != nil:
			if !names["PersistentVolumeClaim/"+ns+"/"+v.PersistentVolumeClaim.ClaimName] {
				t.Errorf("volume %s: PVC %s is not defined here", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		case v.Secret != nil:
			if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o022 != 0 {
				t.Errorf("volume %s: the token's files must not be writable by group or others", v.Name)
			}
		case v.HostPath != nil:
		default:
			t.Errorf("volume %s has no source", v.Name)
		}
	}
	mounted := map[string]bool{}
	for _, c := range append(append([]container{}, pod.InitContainers...), pod.Containers...) {
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				t.Errorf("container %s mounts %s, which is no volume", c.Name, m.Name)
			}
			if v.HostPath != nil && !m.ReadOnly {
				t.Errorf("container %s mounts the host's %s writable", c.Name, v.HostPath.Path)
			}
			if v.Secret != nil && !m.ReadOnly {
				t.Errorf("container %s mounts the Secret writable", c.Name)
			}
			mounted[m.Name] = true
		}
	}
	for name := range volumes {
		if !mounted[name] {
			t.Errorf("volume %s is mounted by no container", name)
		}
	}

	c := afmcContainer(t, cj)
	if c == nil {
		return
	}
	if len(c.Args) < 2 || c.Args[0] != "collect" || !slices.Contains(c.Args, "--post") {
		t.Errorf("args %q: want collect KIND... --post", c.Args)
	}
	if slices.Contains(c.Args, "--all") {
		t.Error("--all in a pod would report the pod's view of cpu, mem, disk as a login node's: name the kinds")
	}
	if slices.Contains(c.Args, "condor") {
		t.Error("condor named, but the image of the Dockerfile has no condor_q: the run would fail")
	}
	for _, a := range c.Args {
		if strings.Contains(strings.ToLower(a), "token") || strings.Contains(strings.ToLower(a), "salt") {
			t.Errorf("argument %q: secrets and their files are not passed on the command line", a)
		}
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		(sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot) || (sc.RunAsUser != nil && *sc.RunAsUser == 0) || sc.Privileged != nil {
		t.Errorf("afmc container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, drop ALL, non-root", sc)
	}
	env := map[string]envVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("env %s comes from a Secret: mount it as a file (token_file)", e.Name)
		}
		if e.Name == "AFMC_TOKEN" || e.Name == "AFMC_SALT" {
			t.Errorf("env %s: the secret belongs in a mounted file", e.Name)
		}
	}
	// The state dir is on the PVC, which the init container makes afmc's.
	stateDir := env["AFMC_STATE_DIR"].Value
	onPVC := false
	for _, m := range c.VolumeMounts {
		if v := volumes[m.Name]; v.PersistentVolumeClaim != nil && (stateDir == m.MountPath || strings.HasPrefix(stateDir, m.MountPath+"/")) {
			onPVC = true
		}
	}
	if !onPVC {
		t.Errorf("AFMC_STATE_DIR %q is not on a PersistentVolumeClaim: deltas, checkpoints and the spool would be lost at every run", stateDir)
	}
	// Only an init container that prepares the state volume runs as root,
	// with CHOWN and FOWNER alone.
	for _, ic := range pod.InitContainers {
		isc := ic.SecurityContext
		if isc == nil || isc.AllowPrivilegeEscalation == nil || *isc.AllowPrivilegeEscalation || isc.Capabilities == nil ||
			!slices.Equal(isc.Capabilities.Drop, []string{"ALL"}) || len(isc.Capabilities.Add) > 2 || isc.Privileged != nil {
			t.Errorf("init container %s: securityContext %+v: want no escalation, drop ALL, at most CHOWN and FOWNER", ic.Name, isc)
		}
		for _, add := range isc.Capabilities.Add {
			if add != "CHOWN" && add != "FOWNER" {
				t.Errorf("init container %s adds %s", ic.Name, add)
			}
		}
		script := strings.Join(ic.Command, " ")
		if psc != nil && psc.RunAsUser != nil && !strings.Contains(script, fmt.Sprintf("chown %d:", *psc.RunAsUser)) {
			t.Errorf("init container %s does not chown the state volume to the pod's user %d: %s", ic.Name, *psc.RunAsUser, script)
		}
		if !strings.Contains(script, "chmod 0700") {
			t.Errorf("init container %s does not make the state volume 0700: %s", ic.Name, script)
		}
	}

	// The jupyter CronJob lists pods with the service account's token; a
	// CronJob reading the host has a login node name from the downward API.
	if slices.Contains(c.Args, "jupyter") {
		if pod.ServiceAccountName == "" || (pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken) {
			t.Error("jupyter needs the service account's token mounted")
		}
	} else if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("a CronJob without jupyter should not mount a service account token")
	}
	if slices.Contains(c.Args, "host") || slices.Contains(c.Args, "ssh") {
		ln := env["AFMC_LOGIN_NODE"]
		if ln.ValueFrom == nil || ln.ValueFrom.FieldRef == nil || ln.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
			t.Error("host documents need AFMC_LOGIN_NODE from the downward API (spec.nodeName)")
		}
		for _, k := range []string{"HOST_PROC", "HOST_SYS", "HOST_ROOT"} {
			if env[k].Value == "" {
				t.Errorf("host collectors in a pod need %s", k)
			}
		}
		if !pod.HostNetwork || !pod.HostPID {
			t.Error("host collectors in a pod need hostNetwork and hostPID")
		}
	}
}
