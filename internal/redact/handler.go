package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps h so that every record it handles has each secret of rs
// scrubbed from its message and from every attribute's text (strings,
// errors, anything printed with %v), however deep in groups. Records a
// level leaves out cost nothing.
func Handler(h slog.Handler, rs ...*Redactor) slog.Handler {
	var keep []*Redactor
	for _, r := range rs {
		if r != nil && len(r.windows) > 0 {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		return h
	}
	if rh, ok := h.(*handler); ok { // one wrapper, every secret
		return &handler{next: rh.next, rs: append(append([]*Redactor(nil), rh.rs...), keep...)}
	}
	return &handler{next: h, rs: keep}
}

type handler struct {
	next slog.Handler
	rs   []*Redactor
}

func (h *handler) text(s string) string {
	for _, r := range h.rs {
		s = r.Text(s)
	}
	return s
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.text(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(clean), rs: h.rs}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), rs: h.rs}
}

// attr scrubs one attribute. Numbers, booleans, times and durations are
// left as they are: no secret reads as one.
func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.text(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, x := range g {
			clean[i] = h.attr(x)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprint(x)
		}
		if clean := h.text(s); clean != s {
			return slog.String(a.Key, clean)
		}
		return slog.Attr{Key: a.Key, Value: v}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
