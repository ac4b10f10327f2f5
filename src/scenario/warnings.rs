//! What a valid scenario may not mean the way it reads: warned about in `snapsim validate` and
//! `snapsim run`, never refused.
//!
//! - A task manager that runs no subtask. With slot sharing, subtask *i* of every operator goes to
//!   slot *i*, and slots fill one task manager before the next: `"task-managers": 2` with
//!   `"slots-per-task-manager": 2` and parallelism 2 puts the whole job on the first one.
//! - Several task managers, yet no channel crosses between them: nothing goes over the network, so
//!   remote latency, bandwidth and credits play no part.

use super::model::DataflowModel;

/// The warnings for a dataflow model, each naming the file and the JSON path.
pub fn dataflow_warnings(model: &DataflowModel, label: &str) -> Vec<String> {
    let graph = model.job.expand(&model.cluster);
    let task_managers = model.cluster.task_managers.max(1);
    let slots = model.cluster.slots_per_task_manager;
    let mut subtasks = vec![0usize; task_managers as usize];
    for task in &graph.tasks {
        subtasks[task.task_manager as usize] += 1;
    }
    let empty: Vec<String> = (0..task_managers)
        .filter(|&tm| subtasks[tm as usize] == 0)
        .map(|tm| tm.to_string())
        .collect();
    let largest = model
        .job
        .operators
        .iter()
        .map(|o| o.parallelism)
        .max()
        .unwrap_or(1);
    let mut warnings = Vec::new();
    if !empty.is_empty() {
        warnings.push(format!(
            "{label}: at `cluster`: task manager(s) {} of {task_managers} run no subtask: the job's \
             largest parallelism is {largest}, and slot sharing puts subtask i of every operator \
             in slot i, filling the first task manager's {slots} slot(s) before the next; set \
             `slots-per-task-manager` to {} to spread the job",
            empty.join(", "),
            largest.div_ceil(task_managers),
        ));
    } else if task_managers > 1 && graph.channels.iter().all(|c| c.local) {
        warnings.push(format!(
            "{label}: at `cluster`: {task_managers} task managers, but no channel crosses between \
             them: nothing goes over the network (forward edges keep each pipeline on one task \
             manager)"
        ));
    }
    warnings
}
