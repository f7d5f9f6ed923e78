# Logistic regression on thirty features: the probability p that a breast tumour is benign
# (Y = 1) or malignant (Y = 0) from thirty measurements of its cell nuclei (x1..x30 in
# breast_cancer.csv, standardized). The data separate almost perfectly, so a small L2
# penalty on w keeps the weights finite.
data x[d], Y
param w[d] = 0, b = 0
model p = sigmoid(dot(w, x) + b)
loss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + 0.001*sum(w^2)
