# Logistic regression with two inputs x1, x2: p is the probability that Y = 1 (Y is 0 or 1),
# fitted by the log-loss (cross-entropy). The compiled loss uses the stable softplus form.
model p = sigmoid(w1*x1 + w2*x2 + b)
loss mean(-Y*log(p) - (1 - Y)*log(1 - p))
