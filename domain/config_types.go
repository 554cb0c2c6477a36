package domain

import "slices"

// The typed configuration of a Nest, as parsed from its .fly files by
// adapters/fly: every default applied, every value checked. JSON tags give
// the `gosling parse` shape (snake_case, durations as {text, seconds}).
// Path fields hold the file a block came from, relative to the Nest root
// with '/' separators (or as given to the parser), and are not encoded.

// EggSpec is what an egg and an eggsbucket share: where and how their
// runners run.
type EggSpec struct {
	Type        EggType           `json:"type"`
	Cloud       CloudConfig       `json:"cloud"`
	Resources   ResourcesConfig   `json:"resources"`
	Runner      RunnerConfig      `json:"runner"`
	Environment map[string]string `json:"environment"`
	Rift        RiftConfig        `json:"rift"`
	Versions    VersionsConfig    `json:"versions"`
}

// EggConfig is an `egg` block: one GitLab project or group with its runners.
type EggConfig struct {
	Name string `json:"name"`
	EggSpec
	GitLab GitLabConfig `json:"gitlab"`
	Path   string       `json:"-"`
}

// EggsBucketConfig is an `eggsbucket` block: several GitLab projects or
// groups sharing one runner setup.
type EggsBucketConfig struct {
	Name string `json:"name"`
	EggSpec
	Repositories []RepoConfig `json:"repositories"`
	Path         string       `json:"-"`
}

// RepoConfig is one `repo` of an eggsbucket.
type RepoConfig struct {
	Name   string       `json:"name"`
	GitLab GitLabConfig `json:"gitlab"`
}

// CloudConfig is a `cloud` block. Provider-specific fields are empty for the
// other provider.
type CloudConfig struct {
	Provider         CloudProvider `json:"provider"`
	Region           string        `json:"region"`
	FolderID         string        `json:"folder_id,omitempty"`          // yandex
	SubnetID         string        `json:"subnet_id,omitempty"`          // yandex, aws
	SecurityGroupIDs []string      `json:"security_group_ids,omitempty"` // aws
	Cluster          string        `json:"cluster,omitempty"`            // aws (ECS cluster)
}

// ResourcesConfig is a `resources` block.
type ResourcesConfig struct {
	CPU    int `json:"cpu"`    // vCPUs
	Memory int `json:"memory"` // MiB
	Disk   int `json:"disk"`   // GiB; unused for serverless
}

// RunnerConfig is the `runner` block of an egg or bucket.
type RunnerConfig struct {
	Tags           []string `json:"tags"`
	Concurrent     int      `json:"concurrent"`
	IdleTimeout    Duration `json:"idle_timeout"`
	Image          string   `json:"image,omitempty"`
	MaxJobDuration Duration `json:"max_job_duration"`
}

// GitLabConfig is a `gitlab` block: exactly one of ProjectID and GroupID is
// set; the secrets hold their conventional default when the file leaves them out.
type GitLabConfig struct {
	Server        string `json:"server"`
	ProjectID     int64  `json:"project_id,omitempty"`
	GroupID       int64  `json:"group_id,omitempty"`
	TokenSecret   string `json:"token_secret"`
	WebhookSecret string `json:"webhook_secret"`
}

// Target returns what the runner is registered for: ("project", id) or ("group", id).
func (g GitLabConfig) Target() (kind string, id int64) {
	if g.GroupID != 0 {
		return "group", g.GroupID
	}
	return "project", g.ProjectID
}

// RiftConfig is a `rift` block.
type RiftConfig struct {
	Enabled bool `json:"enabled"`
}

// VersionsConfig is a `versions` block; an empty field means the active version.
type VersionsConfig struct {
	Tofu    string `json:"tofu,omitempty"`
	Gosling string `json:"gosling,omitempty"`
}

// JobConfig is a `job` block: a scheduled self-management task.
type JobConfig struct {
	Name      string           `json:"name"`
	Schedule  string           `json:"schedule"`
	Timeout   Duration         `json:"timeout"`
	Script    string           `json:"script"`
	Runner    JobRunnerConfig  `json:"runner"`
	OnFailure *OnFailureConfig `json:"on_failure,omitempty"`
	Path      string           `json:"-"`
}

// JobRunnerConfig is the `runner` block of a job.
type JobRunnerConfig struct {
	Type EggType  `json:"type"`
	Tags []string `json:"tags"`
}

// OnFailureConfig is the `on_failure` block of a job.
type OnFailureConfig struct {
	Notify []string `json:"notify"`
}

// UglyFoxSettings is the `uglyfox` block (UF/config.fly). (The name
// UglyFoxConfig is the aggregate of the synced configuration's stream.)
type UglyFoxSettings struct {
	Pruning           PruningConfig            `json:"pruning"`
	RunnersConditions []RunnersConditionConfig `json:"runners_conditions"`
	Policies          []PolicyRule             `json:"policies"`
	Path              string                   `json:"-"`
}

// PruningConfig is the `pruning` block of uglyfox.
type PruningConfig struct {
	FailedThreshold  int      `json:"failed_threshold"`
	MaxAge           Duration `json:"max_age"`
	CheckInterval    Duration `json:"check_interval"`
	HeartbeatTimeout Duration `json:"heartbeat_timeout"`
}

// RunnersConditionConfig is a `runners_condition` block: pool bounds for the
// named eggs and buckets.
type RunnersConditionConfig struct {
	Name         string      `json:"name"`
	EggsEntities []string    `json:"eggs_entities"`
	Apex         ApexConfig  `json:"apex"`
	Nadir        NadirConfig `json:"nadir"`
}

// ApexConfig is the `apex` pool block.
type ApexConfig struct {
	MinCount        int `json:"min_count"`
	MaxCount        int `json:"max_count"`
	CPUThreshold    int `json:"cpu_threshold"`    // percent
	MemoryThreshold int `json:"memory_threshold"` // percent
}

// NadirConfig is the `nadir` pool block.
type NadirConfig struct {
	MinCount    int      `json:"min_count"`
	MaxCount    int      `json:"max_count"`
	IdleTimeout Duration `json:"idle_timeout"`
}

// MotherGooseConfig is a `mothergoose` block: the control plane's own
// cloud footprint.
type MotherGooseConfig struct {
	Name            string                 `json:"name"`
	Cloud           CloudConfig            `json:"cloud"`
	Database        DatabaseConfig         `json:"database"`
	MessageQueues   []MessageQueueConfig   `json:"message_queues"`
	Triggers        []TriggerConfig        `json:"triggers"`
	Containers      []ContainerConfig      `json:"containers"`
	ServiceAccounts []ServiceAccountConfig `json:"service_accounts"`
	Storage         *StorageConfig         `json:"storage,omitempty"`
	Path            string                 `json:"-"`
}

// DatabaseConfig is the `database` block of mothergoose.
type DatabaseConfig struct {
	Kind     string `json:"kind"` // "ydb" or "dynamodb"
	Endpoint string `json:"endpoint,omitempty"`
	Name     string `json:"name,omitempty"`
}

// MessageQueueConfig is a `message_queue` block.
type MessageQueueConfig struct {
	Name              string   `json:"name"`
	VisibilityTimeout Duration `json:"visibility_timeout"`
	MessageRetention  Duration `json:"message_retention"`
	MaxReceives       int      `json:"max_receives"`
}

// TriggerConfig is a `trigger` block: a schedule calling a MotherGoose endpoint.
type TriggerConfig struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	Endpoint string `json:"endpoint"`
	Method   string `json:"method"`
}

// ContainerConfig is a `container` block.
type ContainerConfig struct {
	Name        string `json:"name"`
	Image       string `json:"image"`
	Memory      int    `json:"memory"` // MiB
	Cores       int    `json:"cores"`
	Concurrency int    `json:"concurrency"`
}

// ServiceAccountConfig is a `service_account` block.
type ServiceAccountConfig struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// StorageConfig is the `storage` block of mothergoose.
type StorageConfig struct {
	Bucket string `json:"bucket"`
	Region string `json:"region"`
}

// UglyFoxDeploymentConfig is an `uglyfox_deployment` block: UglyFox
// deployed next to a MotherGoose whose cloud settings it inherits.
type UglyFoxDeploymentConfig struct {
	Name        string            `json:"name"`
	MotherGoose string            `json:"mothergoose"`
	Containers  []ContainerConfig `json:"containers"`
	Path        string            `json:"-"`
}

// ControlPlaneConfig is MG/config.fly: the mothergoose blocks and the
// uglyfox_deployment blocks next to them.
type ControlPlaneConfig struct {
	MotherGoose        []MotherGooseConfig       `json:"mothergoose"`
	UglyFoxDeployments []UglyFoxDeploymentConfig `json:"uglyfox_deployments"`
}

// Nest is the whole typed configuration of a Nest repository.
type Nest struct {
	Dir                string // the directory it was loaded from
	Eggs               map[string]EggConfig
	Buckets            map[string]EggsBucketConfig
	Jobs               map[string]JobConfig
	UglyFox            *UglyFoxSettings // nil without UF/config.fly
	MotherGoose        []MotherGooseConfig
	UglyFoxDeployments []UglyFoxDeploymentConfig
	Files              []string // every .fly file loaded, relative to Dir with '/', sorted
}

// EntityNames returns the names of every egg and bucket, sorted.
func (n *Nest) EntityNames() []string {
	names := make([]string, 0, len(n.Eggs)+len(n.Buckets))
	for name := range n.Eggs {
		names = append(names, name)
	}
	for name := range n.Buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Entity returns the shared spec of the egg or bucket named name.
func (n *Nest) Entity(name string) (EggSpec, bool) {
	if e, ok := n.Eggs[name]; ok {
		return e.EggSpec, true
	}
	if b, ok := n.Buckets[name]; ok {
		return b.EggSpec, true
	}
	return EggSpec{}, false
}
