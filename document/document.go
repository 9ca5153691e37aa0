// Package document is the JSON document afmc collects and sends: an ordered
// object whose field names and types the existing dashboards depend on.
package document

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Float is a JSON number that always reads as a float: 0 is written 0.0,
// as the original Python tool wrote it. Elasticsearch maps a field by the
// first value it sees in an index: a bare 0 would make a load or a
// utilization an integer field for the whole day.
type Float float64

// MarshalJSON writes f with a decimal point or an exponent.
func (f Float) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(float64(f))
	if err != nil {
		return nil, err
	}
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, nil
}

// Field is one key and its value. Value must be encodable by encoding/json;
// nested ordered objects are Object values.
type Field struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its field order, so documents look
// exactly like the ones the original collector sent.
type Object []Field

// Set replaces the value of key, or appends it when absent.
func (o *Object) Set(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, Field{Key: key, Value: v})
}

// Get returns the value of key.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// MarshalJSON writes the fields in order.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Document is one collected document: its fields (kind first) and when it
// was collected. The collection time is not a field: the sender adds it as
// "timestamp" at send time, together with the token.
type Document struct {
	Time   time.Time
	Fields Object
	// Delta marks a document that reports a change since the previous run
	// (NETWORK, DISK with io): it is only valid once the state it was
	// computed against has been saved. Snapshots (CPU, MEM, DISK sizes) are
	// valid whatever becomes of the state.
	Delta bool
	// Collector is the name of the collector that made the document, set
	// by the scheduler (collect.Run): not a field, it is never sent.
	Collector string
	// Answer, when set, is the answer of an outside program the document
	// comes from: it is sent only if that answer holds (see Answer). A
	// Delta with an Answer is passed on as it is made, not held until its
	// collector returns: the collector voids the answer, or returns a
	// state that accounts for it.
	Answer *Answer
}

// New starts a document with the fields every document carries.
func New(kind, cluster string, at time.Time) Document {
	return Document{Time: at, Fields: Object{{"kind", kind}, {"cluster", cluster}}}
}

// NewHost starts a host document, which also names its login node.
func NewHost(kind, cluster, loginNode string, at time.Time) Document {
	d := New(kind, cluster, at)
	d.Fields = append(d.Fields, Field{"login_node", LoginNode(loginNode)})
	return d
}

// Add appends a field and returns the document, for chaining.
func (d Document) Add(key string, v any) Document {
	d.Fields = append(d.Fields, Field{key, v})
	return d
}

// Kind is the document's kind field.
func (d Document) Kind() string {
	k, _ := d.Fields.Get("kind")
	s, _ := k.(string)
	return s
}

// MarshalJSON encodes the fields only.
func (d Document) MarshalJSON() ([]byte, error) { return d.Fields.MarshalJSON() }
