package cli

// What the management commands share: tables and JSON on stdout, secrets written once
// (stdout or a new 0600 file), and one line with a distinct exit code per failure.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/keyward/keyward/client"
)

// managementFailed turns a failed management call into one line and its exit code.
func managementFailed(err error) error {
	var x *exitErr
	if errors.As(err, &x) { // the login's own failure (ended, unreachable)
		return x
	}
	var ae *client.APIError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg = ae.Error()
	}
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return &exitErr{ExitNotLoggedIn, fmt.Errorf("Keyward refused the login (%s): run keyward login", msg)}
	case errors.Is(err, client.ErrForbidden):
		return &exitErr{ExitRefused, fmt.Errorf("refused: %s", msg)}
	case errors.Is(err, client.ErrRateLimited) && ae != nil && ae.RetryAfter > 0:
		return &exitErr{ExitRateLimited, fmt.Errorf("rate limited: try again in %s", shortDuration(ae.RetryAfter.Round(time.Second)))}
	case errors.Is(err, client.ErrRateLimited):
		return &exitErr{ExitRateLimited, errors.New("rate limited: try again later")}
	case errors.Is(err, client.ErrUnavailable):
		return &exitErr{ExitUnavailable, fmt.Errorf("%s: try again later", msg)}
	case errors.Is(err, client.ErrInvalid):
		return &exitErr{ExitUsage, errors.New(msg)}
	}
	return &exitErr{ExitError, errors.New(msg)}
}

func checkOutput(output string, allowed ...string) error {
	for _, a := range allowed {
		if output == a {
			return nil
		}
	}
	return &exitErr{ExitUsage, fmt.Errorf("-o %q: use %s", output, strings.Join(allowed, " or "))}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeRaw prints the API's object as it came, indented.
func writeRaw(w io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// writeRawList prints the API's objects of a list as one JSON array.
func writeRawList(w io.Writer, raws []json.RawMessage) error {
	if raws == nil {
		raws = []json.RawMessage{}
	}
	return writeJSON(w, raws)
}

// table is a tabwriter whose cells cannot steer the terminal.
type table struct{ w *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)} }

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(printable(c), "\t", " ")
	}
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.w.Flush() }

// printable: control and invisible format characters become '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
}

// oneLine keeps an error on one line of stderr.
func oneLine(s string) string {
	return strings.Join(strings.Fields(printable(strings.ReplaceAll(s, "\n", " "))), " ")
}

// shortDuration is 1h, 1m30s, 45s: without the zero units of time.Duration.String.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// ago is a short relative time for tables ("3h ago", "in 12d").
func ago(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	d := time.Until(*t)
	suffix := ""
	prefix := "in "
	if d < 0 {
		d, prefix, suffix = -d, "", " ago"
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return prefix + s + suffix
}

// secretOut is where a command that exists to show a secret writes it: stdout alone, or
// a file that must not exist yet (created 0600), opened before the secret is made so
// that a secret is never made and then lost.
type secretOut struct {
	path string
	f    *os.File
	w    io.Writer
}

func openSecretOut(stdout io.Writer, path string) (*secretOut, error) {
	if path == "" {
		return &secretOut{w: stdout}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, &exitErr{ExitUsage, fmt.Errorf("--out-file %s exists: it is not overwritten", path)}
	}
	if err != nil {
		return nil, &exitErr{ExitUsage, fmt.Errorf("--out-file: %w", err)}
	}
	return &secretOut{path: path, f: f, w: f}, nil
}

// writeAs puts out the secret alone, or with -o json the API's object that carries it.
func (o *secretOut) writeAs(output, secret string, raw json.RawMessage) error {
	if output == "json" {
		var b strings.Builder
		if err := writeRaw(&b, raw); err != nil {
			return err
		}
		secret = strings.TrimSuffix(b.String(), "\n")
	}
	return o.write(secret)
}

// write puts the secret out and closes the file.
func (o *secretOut) write(secret string) error {
	if _, err := fmt.Fprintln(o.w, secret); err != nil {
		return &exitErr{ExitError, fmt.Errorf("write the secret: %w", err)}
	}
	if o.f != nil {
		if err := o.f.Close(); err != nil {
			return &exitErr{ExitError, fmt.Errorf("write the secret: %w", err)}
		}
	}
	return nil
}

// abandon removes the file of a secret that was never made.
func (o *secretOut) abandon() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.path)
	}
}

// readSecret reads one secret from a file or, with "-" or nothing, from stdin: never
// from a flag value, which would stay in shell history and ps.
func readSecret(stdin io.Reader, path string) (string, error) {
	var r io.Reader = stdin
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", &exitErr{ExitUsage, fmt.Errorf("--secret-file: %w", err)}
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 1<<16)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", &exitErr{ExitUsage, fmt.Errorf("read the secret: %w", err)}
	}
	secret := strings.TrimSpace(line)
	if secret == "" {
		return "", &exitErr{ExitUsage, errors.New("no secret given: pipe it on stdin or give --secret-file")}
	}
	return secret, nil
}

// rawsOf is the API's own objects of items, for -o json.
func rawsOf[T any](items []T, raw func(T) json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = raw(it)
	}
	return out
}

func usageErr(flag string, err error) error {
	return &exitErr{ExitUsage, fmt.Errorf("%s: %w", flag, err)}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
