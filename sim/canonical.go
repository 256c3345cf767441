package sim

import (
	"encoding/hex"
	"math/big"
	"reflect"
	"slices"
	"strconv"
)

var bigIntType = reflect.TypeOf(big.Int{})

// Canonical renders a value as text that depends only on its meaning: big
// integers by value, nil and empty slices and maps alike, maps in key
// order, pointers followed, interfaces with their dynamic type. Two values
// with the same rendering are equal for every purpose of the protocol. It
// is how the world compares channels and effects (reflect.DeepEqual tells a
// zero big.Int made one way from one made another) and how the explorer
// keys global states.
func Canonical(v any) string {
	return string(appendCanonical(nil, reflect.ValueOf(v)))
}

func appendCanonical(b []byte, v reflect.Value) []byte {
	if !v.IsValid() {
		return append(b, "nil"...)
	}
	t := v.Type()
	if t == bigIntType {
		if v.CanAddr() {
			return v.Addr().Interface().(*big.Int).Append(b, 10)
		}
		x := v.Interface().(big.Int)
		return x.Append(b, 10)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "nil"...)
		}
		return appendCanonical(b, v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return append(b, "nil"...)
		}
		b = append(b, v.Elem().Type().String()...)
		return appendCanonical(b, v.Elem())
	case reflect.Struct:
		b = append(b, '{')
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendCanonical(b, v.Field(i))
		}
		return append(b, '}')
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			if v.CanAddr() {
				return hex.AppendEncode(b, v.Slice(0, v.Len()).Bytes())
			}
			for i := 0; i < v.Len(); i++ {
				x := byte(v.Index(i).Uint())
				b = append(b, hexDigits[x>>4], hexDigits[x&15])
			}
			return b
		}
		return appendSeq(b, v)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return hex.AppendEncode(b, v.Bytes())
		}
		return appendSeq(b, v)
	case reflect.Map:
		type kv struct {
			k string
			v reflect.Value
		}
		kvs := make([]kv, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			kvs = append(kvs, kv{string(appendCanonical(nil, it.Key())), it.Value()})
		}
		slices.SortFunc(kvs, func(a, b kv) int {
			switch {
			case a.k < b.k:
				return -1
			case a.k > b.k:
				return 1
			}
			return 0
		})
		b = append(b, '{')
		for i, e := range kvs {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, e.k...)
			b = append(b, ':')
			b = appendCanonical(b, e.v)
		}
		return append(b, '}')
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10)
	case reflect.String:
		return strconv.AppendQuote(b, v.String())
	case reflect.Float32, reflect.Float64:
		return strconv.AppendFloat(b, v.Float(), 'g', -1, 64)
	}
	panic("sim: Canonical cannot render a " + t.String())
}

const hexDigits = "0123456789abcdef"

func appendSeq(b []byte, v reflect.Value) []byte {
	b = append(b, '[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendCanonical(b, v.Index(i))
	}
	return append(b, ']')
}
