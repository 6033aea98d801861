package compose

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// volumeModes are the options the short syntax of a service volume
// (SOURCE:TARGET:MODE) takes, as Docker's -v does. compose-go drops the
// others without a word (so `/data:/data:r0` would mount read-write).
var volumeModes = map[string]bool{
	"ro": true, "rw": true, "z": true, "Z": true, "nocopy": true,
	"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true,
	"consistent": true, "cached": true, "delegated": true,
}

// checkComposeFile checks a compose file before compose-go reads it: the
// aliases' expansion (CheckYAMLBounds), then what compose-go would accept
// silently and Docker refuses, naming the line.
func checkComposeFile(file string, content []byte) error {
	if err := CheckYAMLBounds(file, content); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return nil // the end, or a syntax error compose-go reports
		}
		if err := checkVolumeModes(file, &doc); err != nil {
			return err
		}
	}
}

// checkVolumeModes checks the MODE of each short-syntax volume of each
// service. An entry holding a variable is left alone: its value is only
// known after interpolation.
func checkVolumeModes(file string, doc *yaml.Node) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	services := mappingValue(doc.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, services.Content[i+1]
		vols := mappingValue(svc, "volumes")
		if vols == nil || vols.Kind != yaml.SequenceNode {
			continue
		}
		for _, v := range vols.Content {
			if v.Kind != yaml.ScalarNode || strings.Contains(v.Value, "$") {
				continue
			}
			if err := checkVolumeSpec(v.Value); err != nil {
				return fmt.Errorf("%s line %d: service %q: %w", file, v.Line, name, err)
			}
		}
	}
	return nil
}

// checkVolumeSpec checks the colons and the MODE of a volume in the
// short syntax, SOURCE:TARGET[:MODE].
func checkVolumeSpec(spec string) error {
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return fmt.Errorf("volume %q: too many colons: use SOURCE:TARGET[:MODE]", spec)
	}
	if len(parts) < 3 {
		return nil
	}
	for _, mode := range strings.Split(parts[2], ",") {
		if !volumeModes[mode] {
			return fmt.Errorf("volume %q: unknown mode %q: use ro or rw (and z, Z, nocopy or a propagation such as rslave)", spec, mode)
		}
	}
	return nil
}

// mappingValue is the value of key in the mapping m (aliases followed),
// or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for m != nil && m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			for v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}
