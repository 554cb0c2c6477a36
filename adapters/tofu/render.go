package tofu

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// RootFile is the name of the rendered root module file.
const RootFile = "main.tf"

// Outputs every compute module declares; the root module re-exports them.
var moduleOutputs = []string{"instance_id", "address", "public_address", "hostname", "labels"}

// providerOf is the provider each cloud target needs, with the version
// constraint its module declares.
var providerOf = map[Target]struct{ name, source, version string }{
	TargetAWS:    {"aws", "hashicorp/aws", ">= 4.66"},
	TargetYandex: {"yandex", "yandex-cloud/yandex", ">= 0.170"},
}

// Rendered is a root module: file name => content, and its config hash.
type Rendered struct {
	Files map[string][]byte
	Hash  string // hex SHA-256 over the files, see ConfigHash
}

// Render builds the root module for spec. moduleSource is the `source` of the
// module block (a ./ or ../ path to modules/compute/<target>, or any module
// address). It only builds values: it writes nothing.
func Render(spec RunnerSpec, moduleSource string) (Rendered, error) {
	if err := spec.check(); err != nil {
		return Rendered{}, err
	}
	f := hclwrite.NewEmptyFile()
	root := f.Body()

	tf := root.AppendNewBlock("terraform", nil).Body()
	tf.SetAttributeValue("required_version", cty.StringVal(">= 1.6.0"))
	if p, ok := providerOf[spec.Target]; ok {
		rp := tf.AppendNewBlock("required_providers", nil).Body()
		rp.SetAttributeValue(p.name, cty.ObjectVal(map[string]cty.Value{
			"source":  cty.StringVal(p.source),
			"version": cty.StringVal(p.version),
		}))
		root.AppendNewline()
		pb := root.AppendNewBlock("provider", []string{p.name}).Body()
		switch spec.Target {
		case TargetAWS:
			pb.SetAttributeValue("region", cty.StringVal(spec.Region))
		case TargetYandex:
			pb.SetAttributeValue("folder_id", cty.StringVal(spec.Yandex.FolderID))
			pb.SetAttributeValue("zone", cty.StringVal(spec.Region))
		}
	}

	root.AppendNewline()
	mod := root.AppendNewBlock("module", []string{"runner"}).Body()
	mod.SetAttributeValue("source", cty.StringVal(moduleSource))
	for _, a := range moduleArgs(spec) {
		mod.SetAttributeValue(a.name, a.value)
	}

	for _, name := range moduleOutputs {
		root.AppendNewline()
		ob := root.AppendNewBlock("output", []string{name}).Body()
		ob.SetAttributeTraversal("value", hcl.Traversal{
			hcl.TraverseRoot{Name: "module"},
			hcl.TraverseAttr{Name: "runner"},
			hcl.TraverseAttr{Name: name},
		})
	}

	files := map[string][]byte{RootFile: hclwrite.Format(f.Bytes())}
	return Rendered{Files: files, Hash: ConfigHash(files)}, nil
}

// ConfigHash is the hex SHA-256 over the files in name order, each as its
// name, a NUL, its length and its content, so that no two file sets collide.
func ConfigHash(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(len(files[n]))))
		h.Write([]byte{0})
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

type arg struct {
	name  string
	value cty.Value
}

// moduleArgs maps the spec to module arguments in a fixed order. Optional
// values left at their zero value are omitted so the module default applies.
func moduleArgs(s RunnerSpec) []arg {
	args := []arg{
		{"name", cty.StringVal(s.Name)},
		{"egg", cty.StringVal(s.Egg)},
		{"runner_id", cty.StringVal(s.RunnerID)},
		{"runner_type", cty.StringVal(string(s.RunnerType))},
		{"cpu", cty.NumberIntVal(int64(s.CPU))},
		{"memory_mb", cty.NumberIntVal(int64(s.MemoryMB))},
		{"disk_gb", cty.NumberIntVal(int64(s.DiskGB))},
		{"region", cty.StringVal(s.Region)},
		{"image", cty.StringVal(s.Image)},
		{"tags", stringMap(s.Tags)},
		{"mothergoose_url", cty.StringVal(s.MotherGooseURL)},
		{"secret_uris", stringMap(s.SecretURIs)},
	}
	if s.RunnerType != Serverless {
		// A VM's power state, in every plan (plan.created's inputs say it).
		args = append(args, arg{"running", cty.BoolVal(!s.Stopped)})
	}
	if s.AgentVersion != "" {
		args = append(args, arg{"agent_version", cty.StringVal(s.AgentVersion)})
	}
	if s.MaxJobMinutes != 0 {
		args = append(args, arg{"max_job_minutes", cty.NumberIntVal(int64(s.MaxJobMinutes))})
	}
	switch s.Target {
	case TargetLocal:
		args = append(args, arg{"work_dir", cty.StringVal(s.Local.WorkDir)})
		if s.Local.RunnerCommand != "" {
			args = append(args, arg{"runner_command", cty.StringVal(s.Local.RunnerCommand)})
		}
	case TargetAWS:
		a := s.AWS
		args = append(args,
			arg{"instance_type", cty.StringVal(a.InstanceType)},
			arg{"subnet_ids", stringList(a.SubnetIDs)},
			arg{"security_group_ids", stringList(a.SecurityGroupIDs)},
			arg{"ecs_cluster_arn", cty.StringVal(a.ClusterARN)},
			arg{"assign_public_ip", cty.BoolVal(a.AssignPublicIP)},
		)
	case TargetYandex:
		y := s.Yandex
		args = append(args,
			arg{"folder_id", cty.StringVal(y.FolderID)},
			arg{"subnet_id", cty.StringVal(y.SubnetID)},
			arg{"service_account_id", cty.StringVal(y.ServiceAccountID)},
			arg{"preemptible", cty.BoolVal(y.Preemptible)},
			arg{"assign_public_ip", cty.BoolVal(y.AssignPublicIP)},
		)
		if y.PlatformID != "" {
			args = append(args, arg{"platform_id", cty.StringVal(y.PlatformID)})
		}
		if y.CoreFraction != 0 {
			args = append(args, arg{"core_fraction", cty.NumberIntVal(int64(y.CoreFraction))})
		}
	}
	return args
}

func stringMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

func stringList(l []string) cty.Value {
	if len(l) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(l))
	for i, v := range l {
		vals[i] = cty.StringVal(v)
	}
	return cty.ListVal(vals)
}
