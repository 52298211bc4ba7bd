"""Text the demo tokenizer is trained on.

A few sentences in each of Maverick's twelve languages, plus Markdown, code and
numbers, so that the byte-level BPE learns merges for every script the app
displays. The text is fixed here (not read from the system) so that the demo
checkpoint is the same on every machine.
"""

from __future__ import annotations

CORPUS: tuple[str, ...] = (
    # English
    "The quick brown fox jumps over the lazy dog. What is in this picture?",
    "Describe the chart and summarise the table. The image shows a cat on a sofa.",
    "Extract the table as CSV. Summarise this page. Transcribe the text.",
    "The model answers questions about images, screenshots, charts and documents.",
    "Revenue grew by 12 percent in the third quarter, while costs fell slightly.",
    "You are a helpful assistant. Answer briefly and cite the figure you used.",
    # French
    "Le renard brun rapide saute par-dessus le chien paresseux. Qu'y a-t-il sur cette image ?",
    "Décrivez le graphique et résumez le tableau, s'il vous plaît.",
    # German
    "Der schnelle braune Fuchs springt über den faulen Hund. Was ist auf diesem Bild?",
    "Beschreiben Sie das Diagramm und fassen Sie die Tabelle zusammen.",
    # Spanish
    "El rápido zorro marrón salta sobre el perro perezoso. ¿Qué hay en esta imagen?",
    "Describe el gráfico y resume la tabla, por favor.",
    # Portuguese
    "A rápida raposa marrom pula sobre o cão preguiçoso. O que há nesta imagem?",
    "Descreva o gráfico e resuma a tabela.",
    # Italian
    "La veloce volpe marrone salta sopra il cane pigro. Cosa c'è in questa immagine?",
    "Descrivi il grafico e riassumi la tabella.",
    # Indonesian
    "Rubah cokelat yang cepat melompati anjing yang malas. Apa yang ada di gambar ini?",
    "Jelaskan grafik ini dan ringkas tabelnya.",
    # Tagalog
    "Ang mabilis na kayumangging soro ay tumalon sa tamad na aso. Ano ang nasa larawang ito?",
    "Ilarawan ang tsart at ibuod ang talahanayan.",
    # Vietnamese
    "Con cáo nâu nhanh nhẹn nhảy qua con chó lười. Có gì trong bức ảnh này?",
    "Hãy mô tả biểu đồ và tóm tắt bảng.",
    # Arabic
    "الثعلب البني السريع يقفز فوق الكلب الكسول. ما الذي في هذه الصورة؟",
    "صف الرسم البياني ولخص الجدول من فضلك.",
    # Hindi
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। इस तस्वीर में क्या है?",
    "चार्ट का वर्णन करें और तालिका का सारांश दें।",
    # Thai
    "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ ในภาพนี้มีอะไร",
    "อธิบายแผนภูมิและสรุปตาราง",
    # Markdown, tables and code
    "# Heading\n\n- item one\n- item two\n\n**bold** and *italic* and `code`.",
    "| year | revenue | cost |\n|------|---------|------|\n"
    "| 2024 | 1,200 | 800 |\n| 2025 | 1,450 | 870 |",
    "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```",
    "for (let i = 0; i < 10; i++) { console.log(i); }",
    "SELECT name, count(*) FROM messages GROUP BY name ORDER BY 2 DESC;",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14 2.71 42 % $ € £ ¥ + - * / = < > ( ) [ ] { }",
    "Emoji: 😀 🚀 📈 ✅ ❤️ 🐱",
)
