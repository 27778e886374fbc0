package encode

import (
	"testing"
)

func FuzzSchema(f *testing.F) {
	for _, s := range []string{
		allTypes,
		"struct<a:int>",
		"struct<`a b`:map<string,array<struct<x:decimal(38,10)>>>>",
		"struct<a:varchar(10),b:char(2),c:decimal>",
		"struct<a:map<array<int>,int>>",
		"struct<",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := parseSchema(s)
		if err != nil {
			return
		}
		// A schema that parses must print and reparse to itself and give
		// a working converter.
		again, err := parseSchema(typ.String())
		if err != nil || again.String() != typ.String() {
			t.Fatalf("%q printed as %q, which reparses as %v (%v)", s, typ.String(), again, err)
		}
		c, err := NewConverter(openXConfig(s))
		if err != nil {
			t.Fatalf("schema %q parsed but NewConverter failed: %v", s, err)
		}
		if _, _, err := c.Convert(recs(`{}`)); err != nil {
			t.Fatalf("schema %q: converting {}: %v", s, err)
		}
	})
}

func FuzzConvert(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"name":"x","tags":["a",null],"attrs":{"k":"v"},"addr":{"city":"c","zip":1}}`,
		`{"ts":"2017-02-07T15:13:01.39256Z","d":"2024-02-29","dec":"1.5","big":1e5}`,
		`{"items":[{"a":1,"b":[1,null]},null],"mi":{"1":["x"],"x":[]}}`,
		`{"a":1}{"b":2}`,
		`[1,2]`,
		`{"f":1e39,"t8":"12","ok":"true","v":"abcdef","bin":"b"}`,
		`{"dec":"1e99999999"}`,
		``,
	} {
		f.Add([]byte(s))
	}
	openx := mustConverter(f, openXConfig(allTypes))
	hive := mustConverter(f, hiveConfig(allTypes, "yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "millis"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, c := range []*Converter{openx, hive} {
			file, bad, err := c.Convert([][]byte{rec, []byte(`{"id":1}`)})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if file == nil {
				t.Fatal("the good record gave no file")
			}
			if len(bad) > 1 || bad[1] != "" {
				t.Fatalf("bad = %v", bad)
			}
		}
	})
}

func FuzzTimestampFormat(f *testing.F) {
	f.Add("yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2020-03-04T05:06:07.089+02:00")
	f.Add("dd/MMM/yyyy:HH:mm:ss Z", "10/Oct/2000:13:55:36 -0700")
	f.Add("EEE, d MMM yy hh:mm a", "Tue, 3 Mar 20 01:02 PM")
	f.Add("yyyyMMddHHmmss", "20200304050607")
	f.Add("millis", "1583298367089")
	f.Add("''yyyy'x''y'", "'2020x'y")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		jf, err := compileJoda(pattern)
		if err != nil {
			return
		}
		if ts, ok := jf.parse(value); ok && !inRange(ts) {
			t.Fatalf("%q parsed %q to %v, outside Hive's range", pattern, value, ts)
		}
		sqlTimestamp(value, true)
		epochNumber(value)
	})
}
