//! Control plane of phimesh: the rotating CA, its identity API and the workload identity client.

pub mod cli;
