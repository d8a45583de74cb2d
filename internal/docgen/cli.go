package docgen

import (
	"bytes"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyward/keyward/cli"
)

// CLI is docs/reference/cli.md: every command that cli.New builds, hidden ones left
// out, in the order `keyward help` lists them.
func CLI() ([]byte, error) {
	// A world of nothing: no environment, no streams, no terminal, version "dev".
	f := cli.NewFactory(func(string) string { return "" }, bytes.NewReader(nil), io.Discard, io.Discard, false)
	root := cli.New(f)
	root.InitDefaultVersionFlag() // cobra adds --version when the command runs: so does -h
	var d doc
	d.header("Command line reference", "the cobra commands of package cli (cli.New)")
	d.line("Every command takes `-h` (`--help`) and prints what this page says. Exit codes and the")
	d.line("environment are in the root command's help below. A guide for people who hold a key is")
	d.line("[Using the CLI](../using-keys/cli.md).")
	d.line("")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		writeCommand(&d, c)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				walk(sub)
			}
		}
	}
	walk(root)
	return d.bytes(), nil
}

func writeCommand(d *doc, c *cobra.Command) {
	d.line("## ", c.CommandPath())
	d.line("")
	d.line(text(c.Short) + ".")
	d.line("")
	d.line("```text")
	use := c.UseLine()
	if !c.Runnable() && c.HasAvailableSubCommands() {
		use += " COMMAND"
	}
	d.line(use)
	d.line("```")
	d.line("")
	if c.Long != "" {
		writeProse(d, c.Long)
	}
	if len(c.Aliases) > 0 {
		d.line("Aliases: ", code(strings.Join(c.Aliases, ", ")), ".")
		d.line("")
	}
	if c.Example != "" {
		d.line("Examples:")
		d.line("")
		d.line("```sh")
		d.line(dedent(strings.TrimRight(c.Example, "\n")))
		d.line("```")
		d.line("")
	}
	if c.DisableFlagParsing {
		d.line("Its flags are its own: every setting of the [configuration reference](configuration.md), as a flag.")
		d.line("")
	}
	var rows [][]string
	c.NonInheritedFlags().VisitAll(func(fl *pflag.Flag) {
		if fl.Hidden || fl.Name == "help" {
			return
		}
		name := "--" + fl.Name
		if fl.Shorthand != "" {
			name = "-" + fl.Shorthand + ", " + name
		}
		varname, usage := pflag.UnquoteUsage(fl)
		def := fl.DefValue
		if def == "[]" || (fl.Value.Type() == "bool" && def == "false") {
			def = ""
		}
		rows = append(rows, []string{code(name), varname, code(def), text(usage)})
	})
	if len(rows) > 0 {
		d.line("Flags:")
		d.line("")
		d.table([]string{"Flag", "Value", "Default", "What"}, rows)
	}
	var subs []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			subs = append(subs, "- ["+sub.CommandPath()+"](#"+anchor(sub.CommandPath())+"): "+text(sub.Short))
		}
	}
	if len(subs) > 0 {
		d.line("Commands:")
		d.line("")
		for _, s := range subs {
			d.line(s)
		}
		d.line("")
	}
}

// writeProse writes a command's long help: paragraphs as text, and paragraphs laid out
// for a terminal (indented lines, lists) as they are.
func writeProse(d *doc, long string) {
	for _, p := range strings.Split(strings.TrimSpace(long), "\n\n") {
		laidOut := false
		for _, l := range strings.Split(p, "\n") {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "- ") {
				laidOut = true
			}
		}
		if laidOut {
			d.line("```text")
			d.line(strings.TrimRight(p, "\n"))
			d.line("```")
		} else {
			d.line(text(p))
		}
		d.line("")
	}
}

// dedent removes the indentation every line of s shares (cobra indents examples for
// the terminal).
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if common < 0 || n < common {
			common = n
		}
	}
	for i, l := range lines {
		if len(l) >= common && common > 0 {
			lines[i] = l[common:]
		}
	}
	return strings.Join(lines, "\n")
}
