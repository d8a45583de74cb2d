package api

// Bounds of a secret scanner's report (lengths in characters).
const (
	LeakReportsMax = 100
	LeakTokenMax   = 256
	LeakURLMax     = 2048
	LeakFieldMax   = 128
)

// Labels of the answer, as GitHub reads them.
const (
	LeakTruePositive  = "true_positive"
	LeakFalsePositive = "false_positive"
)

// LeakReports bounds the body of a report: a list of LeakReport.
var LeakReports = Rule{MinItems: 1, MaxItems: LeakReportsMax}

// LeakReport is one entry of a secret scanner's report (GitHub's partner format).
// Scanners may send members of their own: they are ignored.
type LeakReport struct {
	Token  string `json:"token" doc:"the string the scanner found"`
	Type   string `json:"type" doc:"the scanner's name of the token type"`
	URL    string `json:"url" doc:"where it was found"`
	Source string `json:"source" doc:"what kind of place (content, commit, npm, …)"`
}

func (LeakReport) Rules() Rules {
	return Rules{"token": {Required: true, MinLen: 1, MaxLen: LeakTokenMax, Safe: SafeLine},
		"type": {MaxLen: LeakFieldMax, Safe: SafeLine}, "url": {MaxLen: LeakURLMax, Safe: SafeLine},
		"source": {MaxLen: LeakFieldMax, Safe: SafeLine}}
}

// OpenObject: a report admits members it does not name.
func (LeakReport) OpenObject() {}

// LeakVerdict is the answer for one entry.
type LeakVerdict struct {
	TokenRaw  string `json:"token_raw" doc:"the token as reported"`
	TokenType string `json:"token_type" doc:"the type as reported"`
	Label     string `json:"label"`
}

func (LeakVerdict) Rules() Rules {
	return Rules{"label": {Enum: []string{LeakTruePositive, LeakFalsePositive}}}
}
