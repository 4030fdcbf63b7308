//! Where a field is in the text: its path walked through the TOML
//! document, and byte offsets as line and column.

/// One step of a field's path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(&'static str),
    Index(usize),
}

pub fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// 1-based line and column of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |n| before.len() - n - 1) + 1;
    (line, column)
}

/// The span of the deepest part of `path` the document has.
pub fn span_of(document: &toml_edit::Document<String>, path: &[Step]) -> Option<std::ops::Range<usize>> {
    use toml_edit::{Item, Table, Value};
    enum Node<'a> {
        Item(&'a Item),
        Table(&'a Table),
        Value(&'a Value),
    }
    let mut node = Node::Item(document.as_item());
    let mut best = None;
    for step in path {
        let next = match (node, step) {
            (Node::Item(Item::Table(t)) | Node::Table(t), Step::Key(k)) => t.get(k).map(Node::Item),
            (Node::Item(Item::ArrayOfTables(a)), Step::Index(i)) => a.get(*i).map(Node::Table),
            (Node::Item(Item::Value(v)) | Node::Value(v), step) => match (v, step) {
                (Value::InlineTable(t), Step::Key(k)) => t.get(k).map(Node::Value),
                (Value::Array(a), Step::Index(i)) => a.get(*i).map(Node::Value),
                _ => None,
            },
            _ => None,
        };
        let Some(found) = next else {
            break;
        };
        let span = match &found {
            Node::Item(item) => item.span(),
            Node::Table(table) => table.span(),
            Node::Value(value) => value.span(),
        };
        best = span.or(best);
        node = found;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_lines() {
        let text = "[a]\nx = 1\n\n[[b]]\ny = { z = [1, 2] }\n\n[[b]]\ny = 3\n";
        let doc = toml_edit::Document::parse(text.to_owned()).unwrap();
        let at = |path: &[Step]| span_of(&doc, path).map(|s| line_column(text, s.start).0);
        assert_eq!(at(&[Step::Key("a"), Step::Key("x")]), Some(2));
        assert_eq!(
            at(&[
                Step::Key("b"),
                Step::Index(0),
                Step::Key("y"),
                Step::Key("z"),
                Step::Index(1)
            ]),
            Some(5)
        );
        assert_eq!(at(&[Step::Key("b"), Step::Index(1), Step::Key("y")]), Some(8));
        assert_eq!(
            at(&[Step::Key("b"), Step::Index(1), Step::Key("nope")]),
            Some(7),
            "the deepest part found: its table"
        );
        assert_eq!(render(&[Step::Key("b"), Step::Index(1), Step::Key("y")]), "b[1].y");
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
