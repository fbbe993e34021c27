/**
 * BERT encoders natively: {@link dev.loupe.transformer.bert.BertModel} (post-LayerNorm blocks with TransformerLens
 * {@code HookedEncoder} hook points, BERT's pooler, the masked-LM head, sentence-transformers pooling and L2
 * normalisation), loaded from Hugging Face or sentence-transformers folders, from ONNX exports (weights recovered by
 * walking the graph), or built in ({@code BertModel.builtIn("minilm")}, {@code "bge-small"}) from the ONNX files
 * langchain4j's embedding artifacts bundle.
 */
package dev.loupe.transformer.bert;
