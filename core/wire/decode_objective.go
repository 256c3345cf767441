package wire

// Decoding of objectives (their data checked per type) and requests.

import "github.com/nitrowallet/nitrowallet/core"

// objectiveData lists, per objective type, the data fields allowed and which
// are required (in the schema's order).
var objectiveData = map[string]struct{ allowed, required []string }{
	core.ObjectiveOpenChannel: {
		[]string{"targetChannelId", "fundingStrategy", "role", "fundingLedgerChannelId"},
		[]string{"targetChannelId", "fundingStrategy"}},
	core.ObjectiveCloseChannel: {
		[]string{"targetChannelId", "fundingStrategy"},
		[]string{"targetChannelId", "fundingStrategy"}},
	core.ObjectiveVirtuallyFund: {
		[]string{"targetChannelId", "jointChannelId"},
		[]string{"targetChannelId", "jointChannelId"}},
	core.ObjectiveFundGuarantor: {
		[]string{"jointChannelId", "ledgerId", "guarantorId"},
		[]string{"jointChannelId", "ledgerId", "guarantorId"}},
	core.ObjectiveFundLedger:  {[]string{"ledgerId"}, []string{"ledgerId"}},
	core.ObjectiveCloseLedger: {[]string{"ledgerId"}, []string{"ledgerId"}},
}

// dataFields is the union of every objective type's data fields, all strings.
var dataFields = map[string]bool{
	"targetChannelId": true, "fundingStrategy": true, "role": true, "fundingLedgerChannelId": true,
	"jointChannelId": true, "ledgerId": true, "guarantorId": true,
}

var fundingStrategies = map[string]bool{
	core.FundingDirect: true, core.FundingLedger: true, core.FundingVirtual: true,
	core.FundingFake: true, core.FundingUnknown: true,
}

var roles = map[string]bool{"app": true, "ledger": true}

func (d *decoder) objective(path pth) (core.Objective, error) {
	var (
		o        core.Objective
		data     = map[string]string{}
		dataPath = path.String() + ".data"
	)
	err := d.object(path, []string{"type", "data"}, func(key string, path pth) (err error) {
		switch key {
		case "type":
			o.Type, err = d.str(path)
			if err == nil {
				if _, ok := objectiveData[o.Type]; !ok {
					err = errAt(ErrUnsupported, path.String(), "unknown objective type %q", truncate(o.Type))
				}
			}
		case "participants":
			o.Participants, err = d.participants(path, d.lim.MaxParticipants)
		case "data":
			// The type may come after data, so collect the string fields
			// first and check them against the type afterwards.
			err = d.object(path, nil, func(key string, path pth) error {
				if !dataFields[key] {
					return unknownField(path)
				}
				s, err := d.str(path)
				data[key] = s
				return err
			})
		default:
			err = unknownField(path)
		}
		return err
	})
	if err != nil {
		return o, err
	}
	spec := objectiveData[o.Type]
	for k := range data {
		if !contains(spec.allowed, k) {
			return o, errAt(ErrUnknownField, dataPath+"."+k, "not allowed in %s data", o.Type)
		}
	}
	for _, k := range spec.required {
		if _, ok := data[k]; !ok {
			return o, errAt(ErrMissingField, dataPath, "missing required property %q", k)
		}
	}
	for _, k := range spec.allowed {
		v, ok := data[k]
		if !ok {
			continue
		}
		p := dataPath + "." + k
		switch k {
		case "targetChannelId":
			o.TargetChannelID, err = parseBytes32(v, p)
		case "jointChannelId":
			o.JointChannelID, err = parseBytes32(v, p)
		case "ledgerId":
			o.LedgerID, err = parseBytes32(v, p)
		case "guarantorId":
			o.GuarantorID, err = parseBytes32(v, p)
		case "fundingStrategy":
			if !fundingStrategies[v] {
				err = errAt(ErrUnsupported, p, "unknown funding strategy %q", truncate(v))
			}
			o.FundingStrategy = v
		case "role":
			if !roles[v] {
				err = errAt(ErrUnsupported, p, "unknown role %q", truncate(v))
			}
			o.Role = v
		case "fundingLedgerChannelId":
			err = checkLedgerRef(v, p)
			o.FundingLedgerChannelID = v
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkLedgerRef validates OpenChannel's fundingLedgerChannelId. The schema
// types it as an Address, but the server wallet puts a channel id there, so
// both 0x + 40 and 0x + 64 hex digits are accepted (kept verbatim).
func checkLedgerRef(s, path string) error {
	_, err := parseDestination(s, path)
	return err
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) request(path pth) (core.Request, error) {
	var r core.Request
	err := d.object(path, []string{"type", "channelId"}, func(key string, path pth) (err error) {
		switch key {
		case "type":
			r.Type, err = d.str(path)
			if err == nil && r.Type != core.RequestGetChannel {
				err = errAt(ErrUnsupported, path.String(), "unknown request type %q", truncate(r.Type))
			}
		case "channelId":
			r.ChannelID, err = d.bytes32(path)
		default:
			err = unknownField(path)
		}
		return err
	})
	return r, err
}
