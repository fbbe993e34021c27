/**
 * Task datasets for circuit experiments: seeded generators of clean/corrupted prompt pairs with their answer tokens
 * and the metric each task is measured by — indirect object identification ({@link
 * dev.loupe.interp.tasks.IndirectObjectIdentification}), greater-than ({@link dev.loupe.interp.tasks.GreaterThan}),
 * subject–verb agreement ({@link dev.loupe.interp.tasks.SubjectVerbAgreement}) and factual recall ({@link
 * dev.loupe.interp.tasks.FactualRecall}). Every pair is a {@link dev.loupe.interp.tasks.TaskPair}, checked for equal
 * token length and single-token answers; a {@link dev.loupe.interp.tasks.TaskDataset} holds the pairs of one task.
 */
package dev.loupe.interp.tasks;
