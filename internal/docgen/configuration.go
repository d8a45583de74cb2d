package docgen

import (
	"strings"

	"github.com/keyward/keyward/config"
)

// Configuration is docs/reference/configuration.md: config's settings table.
func Configuration() ([]byte, error) {
	var d doc
	d.header("Configuration reference", "config/settings.go (the settings table)")
	d.line("Every setting is an environment variable, and also a flag of `keyward server` with the same name in")
	d.line("lower case with dashes (`KEYWARD_LISTEN_ADDR` → `-listen-addr`); a flag wins over the variable.")
	d.line("`keyward server -h` prints the same list. Keyward checks every setting at start and names every")
	d.line("problem at once. What to set, and why, is in [the configuration guide](../operating/configuration.md).")
	d.line("")
	d.line("**required**: the setting must not be empty (most have a default that does).")
	d.line("**secret**: never written in a message or a log, and never shown as a flag's default; pass it from")
	d.line("a secret store, not inline.")
	d.line("")
	var rows [][]string
	for _, s := range config.Describe() {
		var marks []string
		if s.Required {
			marks = append(marks, "**required**")
		}
		if s.Secret {
			marks = append(marks, "**secret**")
		}
		what := text(s.Help)
		if len(marks) > 0 {
			what = strings.Join(marks, ", ") + ". " + what
		}
		rows = append(rows, []string{code(s.Name), code(s.Flag), code(s.Default), what})
	}
	d.table([]string{"Variable", "Flag", "Default", "What"}, rows)
	return d.bytes(), nil
}
