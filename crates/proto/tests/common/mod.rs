//! Shared by the tests that run real captures through the flow stage.

use std::collections::HashMap;
use std::path::Path;

use telltale_decode::{CaptureReader, Decoder};
use telltale_flow::{FlowEvent, FlowId, FlowTable};

/// Runs a capture through decoding and the flow table, as the pipeline does,
/// keeping one `C` per flow: `new` makes it at the flow's first event, `on`
/// sees every event. Flows come back in the order they first appeared.
pub fn per_flow<C>(
    path: &Path,
    mut new: impl FnMut() -> C,
    mut on: impl FnMut(&mut C, FlowEvent<'_>),
) -> Vec<C> {
    let mut reader = CaptureReader::open(path).expect("open capture");
    let mut decoder = Decoder::default();
    let mut table = FlowTable::default();
    let mut flows: HashMap<FlowId, C> = HashMap::new();
    let mut order = Vec::new();
    let mut sink = |e: FlowEvent<'_>| {
        let id = e.flow.id;
        let c = flows.entry(id).or_insert_with(|| {
            order.push(id);
            new()
        });
        on(c, e);
    };
    while let Some(frame) = reader.next_frame().expect("read capture") {
        if let Some(packet) = decoder.decode(&frame) {
            table.push(&packet, &mut sink);
        }
    }
    table.finish(&mut sink);
    order
        .into_iter()
        .filter_map(|id| flows.remove(&id))
        .collect()
}
