//! Every JSON example in the project's documentation parses as what it claims to be.

use suyuan_ledger::tx::Payload;

fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn record_examples_are_valid_payloads() {
    let markdown = include_str!("../../docs/records.md");
    let blocks = json_blocks(markdown);
    assert!(blocks.len() >= 8, "found {} examples", blocks.len());
    for block in blocks {
        if let Err(error) = Payload::parse(block.as_bytes()) {
            panic!("{error}\n{block}");
        }
    }
}
