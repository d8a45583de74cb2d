package main

import (
	"flag"

	"github.com/keyward/keyward/config"
)

// flagHelp: -h was given and usage printed; exit 0.
var flagHelp = flag.ErrHelp

// loadConfig is what main starts from: the configuration read once and checked once,
// every problem listed in the error. Wiring a configuration it returns without error
// never fails on a value.
func loadConfig(args []string, getenv func(string) string) (config.Config, error) {
	c, err := config.Load(args, getenv)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}
