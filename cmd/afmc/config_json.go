package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A config file that is a JSON object is read with encoding/json, as the
// JSON config of earlier versions was: JSON is YAML in principle, but
// go.yaml.in/yaml/v3 refuses some of it ("\/" for a slash, as PHP and
// others write it; a character outside the BMP as a surrogate pair
// "\ud83d\ude00", as Python writes it; a newline before a colon).

// isJSONObject tells a file that is one JSON object.
func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// jsonConfigNode is the YAML document node of a JSON object: the nodes
// loadConfig walks, with their lines, tags as YAML would give them.
func jsonConfigNode(b []byte) (*yaml.Node, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	root, err := jsonNode(d, b)
	if err != nil {
		return nil, err
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: 1, Content: []*yaml.Node{root}}, nil
}

func jsonNode(d *json.Decoder, b []byte) (*yaml.Node, error) {
	line := jsonLine(b, d.InputOffset())
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
		if v == '[' {
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
		}
		for d.More() {
			if n.Kind == yaml.MappingNode {
				kline := jsonLine(b, d.InputOffset())
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string), Line: kline})
			}
			c, err := jsonNode(d, b)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		_, err := d.Token() // the closing delimiter
		return n, err
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: line}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v), Line: line}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v), Line: line}, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}, nil
}

// jsonLine is the line of the next token after offset: past blanks and
// the separators between values.
func jsonLine(b []byte, offset int64) int {
	i := int(offset)
	for i < len(b) && strings.IndexByte(" \t\r\n,:", b[i]) >= 0 {
		i++
	}
	return 1 + bytes.Count(b[:i], []byte("\n"))
}
