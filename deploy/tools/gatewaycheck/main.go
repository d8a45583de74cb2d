// Command gatewaycheck decodes a gateway recipe of deploy/gateway strictly, with the
// gateway's own types, for the two gateways the tests cannot run:
//
//	gatewaycheck envoy FILE    an Envoy bootstrap (YAML) into Envoy's protos, then their
//	                           validation rules (protoc-gen-validate)
//	gatewaycheck traefik FILE  a Traefik dynamic configuration (YAML) into Traefik's types,
//	                           as its file provider decodes it
//
// An unknown field or a broken rule fails (exit 1, the reason on stderr); otherwise the
// decoded configuration is printed as JSON for the test to read.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	bootstrap "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/traefik/paerser/file"
	"github.com/traefik/traefik/v3/pkg/config/dynamic"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// The typed_config messages the recipe names, registered for its Any fields.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gatewaycheck envoy|traefik FILE")
		os.Exit(2)
	}
	src, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	var out []byte
	switch os.Args[1] {
	case "envoy":
		out, err = envoy(src)
	case "traefik":
		out, err = traefik(src)
	default:
		err = fmt.Errorf("unknown gateway %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(append(out, '\n'))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gatewaycheck:", err)
	os.Exit(1)
}

func envoy(src []byte) ([]byte, error) {
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		return nil, fmt.Errorf("YAML: %w", err)
	}
	var b bootstrap.Bootstrap
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("envoy bootstrap: %w", err)
	}
	if err := validate(&b); err != nil {
		return nil, fmt.Errorf("envoy bootstrap rules: %w", err)
	}
	return protojson.MarshalOptions{UseProtoNames: true}.Marshal(&b)
}

// validate runs a message's validation rules and, since they stop at an Any, those of
// every message packed in one (the typed_config of filters and transport sockets).
func validate(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	var err error
	walk(m.ProtoReflect(), func(a *anypb.Any) {
		if err != nil {
			return
		}
		inner, uerr := a.UnmarshalNew()
		if uerr != nil {
			err = fmt.Errorf("%s: %w", a.GetTypeUrl(), uerr)
			return
		}
		if verr := validate(inner); verr != nil {
			err = fmt.Errorf("%s: %w", a.GetTypeUrl(), verr)
		}
	})
	return err
}

// walk calls fn on every Any directly reachable from m without passing through another Any.
func walk(m protoreflect.Message, fn func(*anypb.Any)) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		fn(a)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				walk(v.List().Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walk(mv.Message(), fn)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			walk(v.Message(), fn)
		}
		return true
	})
}

func traefik(src []byte) ([]byte, error) {
	var c dynamic.Configuration
	if err := file.DecodeContent(string(src), ".yaml", &c); err != nil {
		return nil, fmt.Errorf("traefik dynamic configuration: %w", err)
	}
	return json.Marshal(&c)
}
