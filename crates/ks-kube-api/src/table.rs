//! Server-side printing: objects as a meta.k8s.io Table, with the columns
//! kube-apiserver prints for the built-in kinds and a CRD's
//! `additionalPrinterColumns` for custom resources.

use serde_json::{Map, Value, json};

use crate::api::IncludeObject;
use crate::object::{age_seconds, human_duration, meta_str};
use crate::resources::{Column, ResourceDef};

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Builds a Table of `objects`. `with_columns` is false for watch events
/// after the first, which carry rows only, as kube-apiserver sends them.
pub(crate) fn table(
    def: &ResourceDef,
    objects: &[Value],
    version: &str,
    include: IncludeObject,
    revision: Option<i64>,
    continue_token: Option<&str>,
    with_columns: bool,
) -> Value {
    let columns = columns(def);
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            // A resource stored as another prints that resource's columns,
            // from the stored form (see `Strategy::table_columns`).
            let cells = match def.stored_as {
                Some(_) => cells(&def.stored(obj.clone()), &columns),
                None => cells(obj, &columns),
            };
            let mut row = json!({ "cells": cells });
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": format!("meta.k8s.io/{version}"),
                        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    });
                }
                IncludeObject::Object => row["object"] = obj.clone(),
            }
            row
        })
        .collect();
    let mut metadata = Map::new();
    if let Some(rv) = revision {
        metadata.insert("resourceVersion".into(), json!(rv.to_string()));
    }
    if let Some(token) = continue_token {
        metadata.insert("continue".into(), json!(token));
    }
    let mut table = json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": metadata,
        "rows": rows,
    });
    table["columnDefinitions"] = if with_columns {
        Value::Array(columns.iter().map(|c| c.definition.clone()).collect())
    } else {
        json!([])
    };
    table
}

/// A table column and how to compute its cell.
#[derive(Clone, Debug)]
pub struct TableColumn {
    /// The `columnDefinitions` entry.
    pub definition: Value,
    /// How the cell is computed from the object.
    pub cell: Cell,
}

/// How a cell is computed from an object.
#[derive(Clone, Debug)]
pub enum Cell {
    /// `metadata.name`.
    Name,
    /// Time since `metadata.creationTimestamp`, as kubectl prints it.
    Age,
    /// `metadata.creationTimestamp` as is.
    CreatedAt,
    /// A simple JSONPath and the column type (`date` values print as ages).
    Path(String, String),
    /// The number of entries in these fields (maps or lists), summed.
    Count(&'static [&'static str]),
    /// Anything else.
    Computed(fn(&Value) -> Value),
}

impl TableColumn {
    /// A `columnDefinitions` entry.
    pub fn definition(
        name: &str,
        type_: &str,
        format: &str,
        description: &str,
        priority: i32,
    ) -> Value {
        json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority})
    }

    /// The Name column every kind starts with.
    pub fn name() -> Self {
        TableColumn {
            definition: Self::definition("Name", "string", "name", NAME_DESCRIPTION, 0),
            cell: Cell::Name,
        }
    }

    /// The Age column.
    pub fn age() -> Self {
        TableColumn {
            definition: Self::definition("Age", "string", "", AGE_DESCRIPTION, 0),
            cell: Cell::Age,
        }
    }

    /// The Created At column (roles and CRDs print it instead of Age).
    pub fn created_at() -> Self {
        TableColumn {
            definition: Self::definition("Created At", "date", "", AGE_DESCRIPTION, 0),
            cell: Cell::CreatedAt,
        }
    }

    /// A column read at a simple JSONPath (`.status.phase`).
    pub fn path(title: &str, type_: &str, path: &str, description: &str, priority: i32) -> Self {
        TableColumn {
            definition: Self::definition(title, type_, "", description, priority),
            cell: Cell::Path(path.to_owned(), type_.to_owned()),
        }
    }

    /// A column counting the entries of `fields`.
    pub fn count(title: &str, fields: &'static [&'static str], description: &str) -> Self {
        TableColumn {
            definition: Self::definition(title, "integer", "", description, 0),
            cell: Cell::Count(fields),
        }
    }

    /// A CRD's `additionalPrinterColumns` entry.
    pub fn printer_column(c: &Column) -> Self {
        TableColumn {
            definition: Self::definition(&c.name, &c.type_, &c.format, &c.description, c.priority),
            cell: Cell::Path(c.json_path.clone(), c.type_.clone()),
        }
    }
}

fn columns(def: &ResourceDef) -> Vec<TableColumn> {
    def.strategy
        .table_columns()
        .unwrap_or_else(|| vec![TableColumn::name(), TableColumn::age()])
}

fn cells(obj: &Value, columns: &[TableColumn]) -> Vec<Value> {
    columns
        .iter()
        .map(|c| match &c.cell {
            Cell::Name => json!(meta_str(obj, "name")),
            Cell::Age => json!(age(meta_str(obj, "creationTimestamp"))),
            Cell::CreatedAt => json!(meta_str(obj, "creationTimestamp")),
            Cell::Path(path, type_) => match lookup(obj, path) {
                None | Some(Value::Null) => Value::Null,
                Some(Value::String(s)) if type_ == "date" => json!(age(s)),
                Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v.clone(),
                Some(other) => json!(other.to_string()),
            },
            Cell::Count(fields) => {
                let n: usize = fields
                    .iter()
                    .filter_map(|f| obj.get(*f))
                    .map(|v| match v {
                        Value::Object(m) => m.len(),
                        Value::Array(a) => a.len(),
                        _ => 0,
                    })
                    .sum();
                json!(n)
            }
            Cell::Computed(f) => f(obj),
        })
        .collect()
}

fn age(timestamp: &str) -> String {
    match age_seconds(timestamp) {
        Some(s) => human_duration(s),
        None => "<unknown>".to_owned(),
    }
}

/// Evaluates a simple JSONPath (`.a.b`, `.a[0].b`, `.metadata.labels.kubesphere\.io/workspace`,
/// optionally wrapped in `{}` and prefixed with `$`) against an object. A
/// backslash escapes the next character, so `\.` is a dot inside a key.
pub(crate) fn lookup<'v>(obj: &'v Value, path: &str) -> Option<&'v Value> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path);
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut current = obj;
    for segment in split_path(path)? {
        let (field, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment.as_str(), ""),
        };
        if !field.is_empty() {
            current = current.get(field)?;
        }
        let mut rest = indexes;
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            let index: usize = stripped[..end].parse().ok()?;
            current = current.get(index)?;
            rest = &stripped[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(current)
}

/// Splits a JSONPath on unescaped dots, unescaping `\x` to `x`. `None` for
/// a trailing backslash.
fn split_path(path: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next()?),
            '.' => {
                if !current.is_empty() {
                    segments.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn configmap_rows_count_data_and_carry_metadata() {
        let def = ResourceDef::of(Arc::new(crate::kinds::configmap::ConfigMaps));
        let obj = json!({"metadata": {"name": "cm", "namespace": "default", "creationTimestamp": "2020-01-01T00:00:00Z"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
        let t = table(
            &def,
            &[obj],
            "v1",
            IncludeObject::Metadata,
            Some(7),
            None,
            true,
        );
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 3);
        assert_eq!(t["rows"][0]["cells"][0], "cm");
        assert_eq!(t["rows"][0]["cells"][1], 3);
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn bindings_print_role_and_subjects() {
        let def = ResourceDef::of(Arc::new(crate::kinds::rbac::RoleBindings::new()));
        let obj = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "u1"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}, {"kind": "User", "name": "u2"}]});
        let t = table(&def, &[obj], "v1", IncludeObject::None, None, None, true);
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[1], "ClusterRole/view");
        assert_eq!(cells[3], "u1, u2");
        assert_eq!(cells[5], "ns/sa");
        assert!(t["rows"][0].get("object").is_none());
    }

    #[test]
    fn json_paths() {
        let obj = json!({"spec": {"a": [{"b": 1}, {"b": 2}]}, "status": {"state": "Active"}});
        assert_eq!(lookup(&obj, ".spec.a[1].b"), Some(&json!(2)));
        assert_eq!(lookup(&obj, "{.status.state}"), Some(&json!("Active")));
        assert_eq!(lookup(&obj, ".spec.a[9].b"), None);
        assert_eq!(lookup(&obj, ".spec.a[x]"), None);
        let labelled = json!({"metadata": {"labels": {"kubesphere.io/workspace": "ws1"}}});
        assert_eq!(
            lookup(&labelled, ".metadata.labels.kubesphere\\.io/workspace"),
            Some(&json!("ws1"))
        );
        assert_eq!(
            lookup(&labelled, ".metadata.labels.kubesphere.io/workspace"),
            None
        );
        assert_eq!(lookup(&labelled, ".metadata.labels.x\\"), None);
    }
}
