package dev.loupe.tensor;

/** Elementwise ops with NumPy broadcasting, and their gradients. */
final class Elementwise {
    private Elementwise() {
    }

    static Tensor unary(UnaryOp op, Tensor a, float p0, float p1) {
        Backend be = a.backend();
        Tensor out = OpSupport.alloc(be, a.shape());
        be.unary(op, a, p0, p1, out);
        if (!Autograd.needsGrad(a)) return out;
        return Autograd.record(out, op.label(), g -> new Tensor[] {unaryGrad(op, a, out, g, p0, p1)}, a);
    }

    /** d out / d a times {@code g}, from the input {@code a} or the output {@code y} as convenient. */
    private static Tensor unaryGrad(UnaryOp op, Tensor a, Tensor y, Tensor g, float p0, float p1) {
        return switch (op) {
            case NEG -> g.neg();
            case EXP -> g.mul(y);
            case LOG -> g.div(a);
            case SQRT -> g.div(y).mul(0.5f);
            case RSQRT -> g.mul(y.pow(3)).mul(-0.5f);
            case TANH -> g.mul(y.square().neg().add(1f));
            case RELU -> g.mul(a.gt(0f));
            case SIGMOID -> g.mul(y.mul(y.neg().add(1f)));
            case ABS -> g.mul(a.sign());
            case SQUARE -> g.mul(a).mul(2f);
            case RECIPROCAL -> g.mul(y.square()).neg();
            case SIGN -> null;
            case GELU_ERF -> g.mul(unary(UnaryOp.GELU_ERF_GRAD, a, 0, 0));
            case GELU_TANH -> g.mul(unary(UnaryOp.GELU_TANH_GRAD, a, 0, 0));
            case GELU_ERF_GRAD, GELU_TANH_GRAD ->
                    throw new UnsupportedOperationException(op + " has no gradient (no second derivatives)");
            case ADD_SCALAR -> g;
            case MUL_SCALAR -> g.mul(p0);
            case POW_SCALAR -> g.mul(a.pow(p0 - 1)).mul(p0);
            case CLAMP -> g.mul(a.ge(p0).mul(a.le(p1)));
        };
    }

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.label();
        Backend be = OpSupport.backend(name, a, b);
        int[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        Tensor out = OpSupport.alloc(be, shape);
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            be.binary(op, a.expand(shape), b.expand(shape), out);
        }
        if (!Autograd.needsGrad(a, b) || isComparison(op)) return out;
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record(out, name, g -> {
            Tensor[] gs = binaryGrad(op, a, b, out, g);
            return new Tensor[] {
                gs[0] == null || !a.requiresGrad() ? null : gs[0].sumTo(as),
                gs[1] == null || !b.requiresGrad() ? null : gs[1].sumTo(bs)};
        }, a, b);
    }

    private static boolean isComparison(BinaryOp op) {
        return switch (op) {
            case EQ, NE, LT, LE, GT, GE -> true;
            default -> false;
        };
    }

    /** Gradients of both operands at the output's (broadcast) shape; callers sum them back to the operand shapes. */
    private static Tensor[] binaryGrad(BinaryOp op, Tensor a, Tensor b, Tensor y, Tensor g) {
        return switch (op) {
            case ADD -> new Tensor[] {g, g};
            case SUB -> new Tensor[] {g, g.neg()};
            case MUL -> new Tensor[] {g.mul(b), g.mul(a)};
            case DIV -> new Tensor[] {g.div(b), b.requiresGrad() ? g.mul(y).div(b).neg() : null};
            case POW -> new Tensor[] {
                g.mul(b).mul(a.pow(b.sub(1f))),
                b.requiresGrad() ? g.mul(y).mul(a.log()) : null};
            case MAX, MIN -> {
                // The larger (smaller) operand takes the gradient; ties split it evenly, as PyTorch does.
                Tensor win = op == BinaryOp.MAX ? a.gt(b) : a.lt(b);
                Tensor tie = a.eq(b).mul(0.5f);
                Tensor share = win.add(tie);
                yield new Tensor[] {g.mul(share), g.mul(share.neg().add(1f))};
            }
            case EQ, NE, LT, LE, GT, GE -> new Tensor[] {null, null};
        };
    }

    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        Backend be = OpSupport.backend("where", cond, a, b);
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        Tensor out = OpSupport.alloc(be, shape);
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            be.where(cond.expand(shape), a.expand(shape), b.expand(shape), out);
        }
        if (!Autograd.needsGrad(a, b)) return out;
        int[] as = a.shape(), bs = b.shape();
        Tensor c = cond.detach();
        return Autograd.record(out, "where", g -> {
            Tensor zero = Tensor.scalar(0f, g.device());
            return new Tensor[] {
                null,
                a.requiresGrad() ? where(c, g, zero).sumTo(as) : null,
                b.requiresGrad() ? where(c, zero, g).sumTo(bs) : null};
        }, cond, a, b);
    }
}
