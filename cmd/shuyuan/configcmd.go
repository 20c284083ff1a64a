package main

import "fmt"

const configSynopsis = `Usage:
  shuyuan config [config flags]

Prints the effective configuration — the file, then SHUYUAN_* variables,
then flags, then the defaults, as serve would run with — secrets masked,
and validates it: a bad one exits 1 naming every key and the rule it broke.
`

// printConfig is "shuyuan config".
func printConfig(args []string) error {
	cfg, err := loadCommand("config", configSynopsis, args, nil)
	if err != nil {
		return err
	}
	fmt.Print(cfg.Dump())
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bad config:\n%w", err)
	}
	return nil
}
