# Softmax regression (multinomial logistic regression): the probabilities p of the three
# iris species from four measurements (x1..x4 in iris.csv, in cm), the species a label 0, 1, 2 read as a
# one-hot vector Y. A small L2 penalty on W makes the answer unique (as in scikit-learn's
# LogisticRegression(C=1/(2·0.01·150)), whose probabilities it matches to 1e-6).
data x[d], Y[K] from species
param W[K, d] = 0, c[K] = 0
model p = softmax(W @ x + c)
loss mean(-sum(Y * log(p))) + 0.01*sum(W^2)
