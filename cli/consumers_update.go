package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

// ConsumersUpdateOptions is what keyward consumers update needs.
type ConsumersUpdateOptions struct {
	Base
	Ref    string
	Update client.ConsumerUpdate
	// the flags read into Update by parse
	name, description, environment, contactEmail string
	groups                                       []string
	noGroups, enabled                            bool
}

// NewCmdConsumersUpdate is keyward consumers update; runF, when given, runs instead of the command.
func NewCmdConsumersUpdate(f *Factory, runF func(*ConsumersUpdateOptions) error) *cobra.Command {
	opts := &ConsumersUpdateOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "update CONSUMER [flags]", Short: "Change a consumer; new ACL groups reach its clients at once",
		Args: cobra.ExactArgs(1), Example: "  keyward consumers update shop --acl-group analytics --acl-group finance"}
	opts.outputFlag(cmd, "table", "table or json (the API's object)")
	flags := cmd.Flags()
	flags.StringVar(&opts.name, "name", "", "a new name")
	flags.StringVar(&opts.description, "description", "", "a new description")
	flags.StringVar(&opts.environment, "environment", "", "development, staging or production")
	flags.StringVar(&opts.contactEmail, "contact-email", "", `where reminders of the consumer's keys are mailed ("" removes it)`)
	flags.StringSliceVar(&opts.groups, "acl-group", nil, "the new set of ACL groups (repeat or comma-separate)")
	flags.BoolVar(&opts.noGroups, "no-acl-groups", false, "remove every ACL group")
	flags.BoolVar(&opts.enabled, "enabled", true, "enable (true) or disable (false): a disabled consumer's keys and OAuth clients are refused")
	cmd.MarkFlagsMutuallyExclusive("acl-group", "no-acl-groups")
	cmd.RunE = opts.runE(opts.parse, pick(opts, runF, consumersUpdateRun))
	return cmd
}

// parse reads the flags given into Update (none is a usage error, said after the login
// as it always was).
func (opts *ConsumersUpdateOptions) parse(cmd *cobra.Command, args []string) error {
	flags := cmd.Flags()
	opts.Ref, opts.Update = args[0], client.ConsumerUpdate{}
	up := &opts.Update
	if flags.Changed("name") {
		up.Name = &opts.name
	}
	if flags.Changed("description") {
		up.Description = &opts.description
	}
	if flags.Changed("environment") {
		up.Environment = &opts.environment
	}
	if flags.Changed("acl-group") {
		up.ACLGroups = &opts.groups
	}
	if flags.Changed("contact-email") {
		up.ContactEmail = &opts.contactEmail
	}
	if flags.Changed("enabled") {
		up.Enabled = &opts.enabled
	}
	if opts.noGroups {
		up.ACLGroups = &[]string{}
	}
	return nil
}

func consumersUpdateRun(opts *ConsumersUpdateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		if string(mustJSON(opts.Update)) == "{}" {
			return &exitErr{ExitUsage, errors.New("nothing to change: give at least one flag (keyward consumers update -h)")}
		}
		c, err := li.resolveConsumer(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		if c, err = li.manager.UpdateConsumer(opts.Ctx, c.ID, opts.Update); err != nil {
			return err
		}
		return showConsumer(opts.Stdout, opts.Output, c)
	})
}
