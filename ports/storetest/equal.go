package storetest

import (
	"fmt"
	"math/big"
	"reflect"
	"sort"
)

var bigIntType = reflect.TypeOf(big.Int{})

// Diff returns "" when a and b are semantically equal, else the path of
// the first difference. It is reflect.DeepEqual except that big.Int values
// compare by value, and a nil slice or map equals an empty one (core's own
// Clone does not keep the difference, and no code may depend on it).
func Diff(a, b any) string {
	return diff(reflect.ValueOf(a), reflect.ValueOf(b))
}

// diff returns "" or "<path>: <difference>"; the path is built on the way
// out, only for a difference.
func diff(a, b reflect.Value) string {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			return ": one side is nil"
		}
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf(": type %s vs %s", a.Type(), b.Type())
	}
	if a.Type() == bigIntType {
		if !a.CanAddr() || !b.CanAddr() {
			return ": big.Int held by value"
		}
		return cmpBig(a.Addr().Interface().(*big.Int), b.Addr().Interface().(*big.Int))
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return ": nil vs non-nil pointer"
			}
			return ""
		}
		if a.Type().Elem() == bigIntType {
			return cmpBig(a.Interface().(*big.Int), b.Interface().(*big.Int))
		}
		return diff(a.Elem(), b.Elem())
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return ": nil vs non-nil interface"
			}
			return ""
		}
		if a.Elem().Type() != b.Elem().Type() {
			return fmt.Sprintf(": dynamic type %s vs %s", a.Elem().Type(), b.Elem().Type())
		}
		return diff(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := diff(a.Field(i), b.Field(i)); d != "" {
				return "." + a.Type().Field(i).Name + d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf(": length %d vs %d", a.Len(), b.Len())
		}
		if a.Type().Elem().Kind() == reflect.Uint8 {
			for i := 0; i < a.Len(); i++ {
				if a.Index(i).Uint() != b.Index(i).Uint() {
					return fmt.Sprintf("[%d]: %d vs %d", i, a.Index(i).Uint(), b.Index(i).Uint())
				}
			}
			return ""
		}
		for i := 0; i < a.Len(); i++ {
			if d := diff(a.Index(i), b.Index(i)); d != "" {
				return fmt.Sprintf("[%d]", i) + d
			}
		}
		return ""
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Sprintf(": %d vs %d keys", a.Len(), b.Len())
		}
		keys := a.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("[%v]: missing", k)
			}
			if d := diff(a.MapIndex(k), bv); d != "" {
				return fmt.Sprintf("[%v]", k) + d
			}
		}
		return ""
	}
	var x, y any
	switch a.Kind() {
	case reflect.Bool:
		x, y = a.Bool(), b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, y = a.Int(), b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x, y = a.Uint(), b.Uint()
	case reflect.Float32, reflect.Float64:
		x, y = a.Float(), b.Float()
	case reflect.String:
		x, y = a.String(), b.String()
	default:
		return fmt.Sprintf(": cannot compare kind %s", a.Kind())
	}
	if x != y {
		return fmt.Sprintf(": %v vs %v", x, y)
	}
	return ""
}

func cmpBig(x, y *big.Int) string {
	if x.Cmp(y) != 0 {
		return fmt.Sprintf(": %v vs %v", x, y)
	}
	return ""
}
