//! From a value written in a pipeline file to the typed `glib::Value` a
//! GStreamer property takes, or a message saying what the property expects.

use gst::glib;
use gst::prelude::*;

use crate::file::PropertyValue;

/// Sets property `name` of a live element from a file-style value, with the
/// same checks and messages as pipeline files (for scripts and the API).
pub fn set_property(element: &gst::Element, name: &str, value: &PropertyValue) -> Result<(), String> {
    let pspec = element.find_property(name).ok_or_else(|| {
        let names: Vec<String> = element.list_properties().iter().map(|p| p.name().to_owned()).collect();
        format!(
            "{} has no property `{name}`{}",
            element
                .factory()
                .map(|f| f.name().to_string())
                .unwrap_or_else(|| element.name().to_string()),
            crate::error::did_you_mean(name, names.iter().map(String::as_str))
        )
    })?;
    if !pspec.flags().contains(glib::ParamFlags::WRITABLE) {
        return Err(format!("property `{name}` of `{}` is read-only", element.name()));
    }
    let value =
        property_value(value, &pspec).map_err(|why| format!("property `{name}` of `{}` {why}", element.name()))?;
    element.set_property_from_value(name, &value);
    Ok(())
}

/// Converts `value` for the property described by `pspec`.
pub fn property_value(value: &PropertyValue, pspec: &glib::ParamSpec) -> Result<glib::Value, String> {
    let ty = pspec.value_type();
    let expects = |what: &str| format!("expects {what}, got {} `{}`", value.kind(), shown(value));
    macro_rules! ranged {
        ($spec:ty, $rust:ty, $what:literal) => {{
            let spec = pspec.downcast_ref::<$spec>().expect("value type matches the spec type");
            let (min, max) = (spec.minimum(), spec.maximum());
            let v = match value {
                PropertyValue::Int(i) => <$rust>::try_from(*i).ok().filter(|v| (min..=max).contains(v)),
                _ => return Err(expects(concat!($what, " (", stringify!($rust), ")"))),
            };
            v.map(|v| v.to_value())
                .ok_or_else(|| format!("value {} is out of range {min}..={max}", shown(value)))
        }};
    }
    macro_rules! real {
        ($spec:ty, $rust:ty) => {{
            let spec = pspec.downcast_ref::<$spec>().expect("value type matches the spec type");
            let (min, max) = (spec.minimum(), spec.maximum());
            let v = match value {
                PropertyValue::Float(f) => *f as $rust,
                PropertyValue::Int(i) => *i as $rust,
                _ => return Err(expects("a number")),
            };
            if (min..=max).contains(&v) {
                Ok(v.to_value())
            } else {
                Err(format!("value {v} is out of range {min}..={max}"))
            }
        }};
    }

    if ty == glib::Type::BOOL {
        match value {
            PropertyValue::Bool(b) => Ok(b.to_value()),
            _ => Err(expects("a boolean (true or false)")),
        }
    } else if ty == glib::Type::I32 {
        ranged!(glib::ParamSpecInt, i32, "an integer")
    } else if ty == glib::Type::U32 {
        ranged!(glib::ParamSpecUInt, u32, "an integer")
    } else if ty == glib::Type::I64 {
        ranged!(glib::ParamSpecInt64, i64, "an integer")
    } else if ty == glib::Type::U64 {
        ranged!(glib::ParamSpecUInt64, u64, "an integer")
    } else if ty == glib::Type::I_LONG {
        ranged!(glib::ParamSpecLong, std::ffi::c_long, "an integer")
    } else if ty == glib::Type::U_LONG {
        ranged!(glib::ParamSpecULong, std::ffi::c_ulong, "an integer")
    } else if ty == glib::Type::F32 {
        real!(glib::ParamSpecFloat, f32)
    } else if ty == glib::Type::F64 {
        real!(glib::ParamSpecDouble, f64)
    } else if ty == glib::Type::STRING {
        match value {
            PropertyValue::Text(s) => Ok(s.to_value()),
            PropertyValue::Int(_) | PropertyValue::Float(_) | PropertyValue::Bool(_) => Ok(shown(value).to_value()),
            _ => Err(expects("a string")),
        }
    } else if ty.is_a(glib::Type::ENUM) {
        enum_value(value, pspec)
    } else if ty == gst::Structure::static_type() {
        structure_value(value, pspec)
    } else {
        // Caps, flags, fractions, arrays...: GStreamer's own string syntax,
        // the same gst-launch-1.0 accepts.
        let PropertyValue::Text(text) = value else {
            return Err(expects(&format!("a string in GStreamer's syntax for {}", ty.name())));
        };
        glib::Value::deserialize_with_pspec(text, pspec)
            .map_err(|_| format!("`{text}` is not a valid {} value", ty.name()))
    }
}

fn enum_value(value: &PropertyValue, pspec: &glib::ParamSpec) -> Result<glib::Value, String> {
    let class = glib::EnumClass::with_type(pspec.value_type()).expect("an enum type has an enum class");
    let names: Vec<&str> = class.values().iter().map(|v| v.nick()).collect();
    let found = match value {
        PropertyValue::Text(text) => class.value_by_nick(text).or_else(|| class.value_by_name(text)),
        _ => None,
    };
    found.map(|v| v.to_value(&class)).ok_or_else(|| {
        format!(
            "expects one of {}, got {} `{}`{}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            value.kind(),
            shown(value),
            match value {
                PropertyValue::Text(text) => crate::error::did_you_mean(text, names.iter().copied()),
                _ => String::new(),
            }
        )
    })
}

fn structure_value(value: &PropertyValue, pspec: &glib::ParamSpec) -> Result<glib::Value, String> {
    match value {
        PropertyValue::Text(text) => text
            .parse::<gst::Structure>()
            .map(|s| s.to_value())
            .map_err(|_| format!("`{text}` is not a valid structure (e.g. \"name, key=value\")")),
        PropertyValue::Table(entries) => {
            let mut structure = gst::Structure::new_empty(pspec.name());
            for (key, entry) in entries {
                let field: glib::SendValue = match entry {
                    PropertyValue::Bool(b) => b.to_send_value(),
                    PropertyValue::Int(i) => match i32::try_from(*i) {
                        Ok(small) => small.to_send_value(),
                        Err(_) => i.to_send_value(),
                    },
                    PropertyValue::Float(f) => f.to_send_value(),
                    PropertyValue::Text(s) => s.to_send_value(),
                    other => return Err(format!("field `{key}` is {}; fields take plain values", other.kind())),
                };
                structure.set_value(key.as_str(), field);
            }
            Ok(structure.to_value())
        }
        _ => Err(format!("expects a table or a structure string, got {}", value.kind())),
    }
}

/// The value as the user wrote it, for messages.
fn shown(value: &PropertyValue) -> String {
    match value {
        PropertyValue::Bool(b) => b.to_string(),
        PropertyValue::Int(i) => i.to_string(),
        PropertyValue::Float(f) => f.to_string(),
        PropertyValue::Text(s) => s.clone(),
        PropertyValue::List(items) => format!("[{}]", items.iter().map(shown).collect::<Vec<_>>().join(", ")),
        PropertyValue::Table(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, v)| format!("{k} = {}", shown(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pspec(factory: &str, property: &str) -> glib::ParamSpec {
        gst::init().unwrap();
        gst::ElementFactory::make(factory)
            .build()
            .unwrap()
            .find_property(property)
            .unwrap()
    }

    #[test]
    fn typed_values_convert_with_range_checks() {
        let num = pspec("videotestsrc", "num-buffers");
        assert_eq!(
            property_value(&PropertyValue::Int(10), &num)
                .unwrap()
                .get::<i32>()
                .unwrap(),
            10
        );
        let err = property_value(&PropertyValue::Int(-5), &num).unwrap_err();
        assert_eq!(err, "value -5 is out of range -1..=2147483647");
        let err = property_value(&PropertyValue::Text("ten".into()), &num).unwrap_err();
        assert_eq!(err, "expects an integer (i32), got a string `ten`");
        let live = pspec("videotestsrc", "is-live");
        assert!(
            property_value(&PropertyValue::Text("yes".into()), &live)
                .unwrap_err()
                .contains("a boolean")
        );
        let volume = pspec("volume", "volume");
        assert_eq!(
            property_value(&PropertyValue::Int(2), &volume)
                .unwrap()
                .get::<f64>()
                .unwrap(),
            2.0
        );
    }

    #[test]
    fn enums_take_nicks_and_list_them_when_wrong() {
        let pattern = pspec("videotestsrc", "pattern");
        assert!(property_value(&PropertyValue::Text("ball".into()), &pattern).is_ok());
        let err = property_value(&PropertyValue::Text("bal".into()), &pattern).unwrap_err();
        assert!(
            err.starts_with("expects one of `smpte`, `snow`") && err.ends_with("(did you mean `ball`, `bar`?)"),
            "{err}"
        );
    }

    #[test]
    fn gstreamer_syntax_values_parse_or_explain() {
        let caps = pspec("capsfilter", "caps");
        let v = property_value(&PropertyValue::Text("video/x-raw,width=8".into()), &caps).unwrap();
        assert_eq!(v.get::<gst::Caps>().unwrap().to_string(), "video/x-raw, width=(int)8");
        let err = property_value(&PropertyValue::Text("video/x-raw,width=".into()), &caps).unwrap_err();
        assert_eq!(err, "`video/x-raw,width=` is not a valid GstCaps value");
    }
}
